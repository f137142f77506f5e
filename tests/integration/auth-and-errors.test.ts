import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/** Bearer-token roles decide masking (in one place) and access; bad requests get typed errors. */
const idNo = residentId('340524', '19800101', '001');

describe('authentication, masking and typed errors', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const q = `{ customerBySource(system: "core-policy", sourceId: "M0000001") { displayName birthDate identifiers { value } contactPoints { kind value } sourceRecords { raw } } }`;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'fixture',
      [
        coreEvent('client', 'r', {
          CLNTNUM: 'M0000001',
          CLTTYPE: 'P',
          SURNAME: '欧阳',
          GIVNAME: '娜娜',
          CLTSEX: 'F',
          CLTDOB: 19800101,
          IDTYPE: '01',
          IDNO: idNo,
          MOBILE: '13812345678',
          EMAIL: 'ouyang@example.cn',
          DTEUPD: dteupd('2026-11-01T00:00:00Z'),
        }),
      ],
      ingestDeps,
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('masks identifiers and phones for a channel app and shows them to a data steward', async () => {
    const channel = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), q);
    expect(channel.errors).toBeUndefined();
    const c = channel.data.customerBySource;
    expect(c.displayName).toBe('欧阳娜娜');
    expect(c.birthDate).toBeNull();
    expect(c.identifiers[0].value).not.toBe(idNo);
    expect(c.identifiers[0].value).toMatch(/^3405\*+\d{3}[\dX]$/);
    expect(c.contactPoints.find((p: any) => p.kind === 'MOBILE').value).toBe('138****5678');
    expect(c.sourceRecords[0].raw).toBeNull();

    const steward = await gql(hub.url, await tokenFor(hub, 'DATA_STEWARD'), q);
    const s = steward.data.customerBySource;
    expect(s.identifiers[0].value).toBe(idNo);
    expect(s.birthDate).toBe('1980-01-01');
    expect(s.contactPoints.find((p: any) => p.kind === 'MOBILE').value).toBe('+86 138 1234 5678');
    expect(JSON.parse(s.sourceRecords[0].raw).CLNTNUM.trim()).toBe('M0000001');
  });

  it('rejects missing, forged and role-less tokens with UNAUTHENTICATED', async () => {
    const none = await gql(hub.url, null, q);
    expect(none.status).toBe(401);
    expect(none.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await new SignJWT({ roles: ['DATA_STEWARD'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('customer-hub')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-1234567'));
    expect((await gql(hub.url, forged, q)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const noRole = await new SignJWT({ roles: ['ADMIN'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('customer-hub')
      .setAudience('customer-hub')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(hub.tokens.secret);
    const r = await gql(hub.url, noRole, q);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/no known role/);
  });

  it('forbids quarantine access to channel apps', async () => {
    const r = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), `{ quarantinedEvents { edges { node { id } } } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await gql(
      hub.url,
      await tokenFor(hub, 'INTEGRATION_ADMIN'),
      `{ quarantinedEvents { edges { node { id } } } }`,
    );
    expect(ok.errors).toBeUndefined();
  });

  it('answers bad input with BAD_USER_INPUT', async () => {
    const token = await tokenFor(hub, 'CHANNEL_APP');
    const cases = [
      `{ searchCustomers(query: {}) { edges { cursor } } }`,
      `{ searchCustomers(query: { phone: "abc" }) { edges { cursor } } }`,
      `{ searchCustomers(query: { name: "欧阳娜娜" }, after: "not-a-cursor") { edges { cursor } } }`,
      `{ searchCustomers(query: { name: "欧阳娜娜" }, first: 1000) { edges { cursor } } }`,
      `{ searchCustomers(query: { nmae: "x" }) { edges { cursor } } }`,
    ];
    for (const query of cases) {
      const r = await gql(hub.url, token, query);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
    }
  });

  it('answers a document whose operation cannot be chosen with a typed 400, not an internal error', async () => {
    // (Queries read one snapshot — src/resolvers/http-server.ts — which must leave Apollo's own answer to such a document.)
    const r = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), `query A { __typename } query B { __typename }`);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });

  it('finds a traditional-character name variant and returns null for unknown ids', async () => {
    const token = await tokenFor(hub, 'CHANNEL_APP');
    const r = await gql(
      hub.url,
      token,
      `{ searchCustomers(query: { name: "歐陽娜娜" }) { edges { score node { displayName } } } customer(id: "00000000-0000-0000-0000-000000000000") { id } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.searchCustomers.edges.map((e: any) => e.node.displayName)).toEqual(['欧阳娜娜']);
    expect(r.data.searchCustomers.edges[0].score).toBe(1);
    expect(r.data.customer).toBeNull();
  });
});
