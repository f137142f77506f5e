import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * The hub as an Apollo Federation 2 subgraph (HUB_FEDERATION=1, production mode): composed in this process by
 * Apollo Gateway (IntrospectAndCompose, over HTTP) with a second subgraph — a contact-centre "calls" service
 * that names customers only by id — and queried through the gateway over HTTP. The gateway fetches the
 * customer from the hub (`_entities` → `Customer.__resolveReference`): roles are checked and values masked
 * there, as in the hub's own queries.
 */
const idNo = residentId('110105', '19850307', '123');
const mobile = '13800138000';

const callsSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { lastCall(customerId: ID!): Call }
  type Call { reason: String! customer: Customer! }
  type Customer @key(fields: "id", resolvable: false) { id: ID! }
`;

describe('Apollo Federation subgraph', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let calls: ApolloServer;
  let gateway: ApolloServer;
  let gatewayUrl: string;
  let customerId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url, HUB_FEDERATION: '1' });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'federation',
      [
        coreEvent('client', 'r', {
          CLNTNUM: 'F0000001',
          CLTTYPE: 'P',
          SURNAME: '王',
          GIVNAME: '小明',
          CLTSEX: 'M',
          CLTDOB: 19850307,
          IDTYPE: '01',
          IDNO: idNo,
          MOBILE: mobile,
          DTEUPD: dteupd('2026-11-01T00:00:00Z'),
        }),
      ],
      ingestDeps,
    );
    const found = await gql(
      hub.url,
      await tokenFor(hub, 'DATA_STEWARD'),
      `{ customerBySource(system: "core-policy", sourceId: "F0000001") { id } }`,
    );
    customerId = found.data.customerBySource.id;

    calls = new ApolloServer({
      schema: buildSubgraphSchema([
        {
          typeDefs: parse(callsSdl),
          resolvers: {
            Query: {
              lastCall: (_r: unknown, { customerId: id }: { customerId: string }) => ({
                reason: 'claim status',
                customer: { id },
              }),
            },
          },
        },
      ]),
    });
    const callsUrl = (await startStandaloneServer(calls, { listen: { port: 0, host: '127.0.0.1' } })).url;

    const composer = await tokenFor(hub, 'INTEGRATION_ADMIN');
    gateway = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl: new IntrospectAndCompose({
          subgraphs: [
            { name: 'hub', url: hub.url },
            { name: 'calls', url: callsUrl },
          ],
          introspectionHeaders: { authorization: `Bearer ${composer}` },
        }),
        // The caller's token goes on to the subgraphs: the hub decides with it, as when called directly.
        buildService: ({ url }) =>
          new RemoteGraphQLDataSource<{ authorization?: string }>({
            url,
            willSendRequest({ request, context }) {
              if (context.authorization) request.http?.headers.set('authorization', context.authorization);
            },
          }),
      }),
    });
    gatewayUrl = (
      await startStandaloneServer(gateway, {
        listen: { port: 0, host: '127.0.0.1' },
        context: async ({ req }) => ({ authorization: req.headers.authorization }),
      })
    ).url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await calls?.stop();
    await hub?.stop();
    await db?.drop();
  });

  const throughGateway = `query($id: ID!) { lastCall(customerId: $id) { reason customer {
    id displayName identifiers { value } contactPoints { kind value } riskFlags { kind } } } }`;

  it('resolves a customer another subgraph names, masked for a channel app and whole for a steward', async () => {
    const channel = await gql(gatewayUrl, await tokenFor(hub, 'CHANNEL_APP'), throughGateway, { id: customerId });
    expect(channel.errors).toBeUndefined();
    const c = channel.data.lastCall.customer;
    expect(c).toMatchObject({ id: customerId, displayName: '王小明' });
    expect(c.identifiers[0].value).toBe(`1101**********${idNo.slice(-4)}`);
    expect(c.contactPoints.find((p: { kind: string }) => p.kind === 'MOBILE').value).toBe('138****8000');
    expect(JSON.stringify(channel.data)).not.toMatch(new RegExp(`${idNo}|${mobile}`));

    const steward = await gql(gatewayUrl, await tokenFor(hub, 'DATA_STEWARD'), throughGateway, { id: customerId });
    expect(steward.errors).toBeUndefined();
    expect(steward.data.lastCall.customer.identifiers[0].value).toBe(idNo);
  });

  it('checks roles on the entity as customer(id:) does, and serves the hub’s own queries through the gateway', async () => {
    const compliance = await gql(gatewayUrl, await tokenFor(hub, 'COMPLIANCE'), throughGateway, { id: customerId });
    expect(compliance.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    expect(compliance.data?.lastCall?.customer ?? null).toBeNull();
    expect(JSON.stringify(compliance)).not.toContain(idNo);

    const own = await gql(
      gatewayUrl,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "F0000001") { id identifiers { value } } }`,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data.customerBySource).toEqual({
      id: customerId,
      identifiers: [{ value: `1101**********${idNo.slice(-4)}` }],
    });
    // Without a token the hub refuses, through the gateway too.
    const anonymous = await gql(gatewayUrl, null, throughGateway, { id: customerId });
    expect(anonymous.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(anonymous)).not.toContain(idNo);
  });
});
