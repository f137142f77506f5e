import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectors } from '../../src/connectors/registry.ts';
import { DEMO_CUSTOMER, generateCorePolicyDemo } from '../../src/demo/generate-core-policy.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * Bounded cost, tried as an attacker would over HTTP: the two queries that took the hub down before (a
 * 12-deep customer → policies → participants → customer chain with first: 100, and a 1,000-alias search) are
 * refused before running a single statement, with a typed code, while a customer 360 sent beside them is
 * answered; searches by identifier are rate-limited per caller; the execution deadline and the statement
 * timeout end what runs too long.
 */
const the360 = `query The360($id: ID!) { customer(id: $id) { id displayName
  identifiers { type value } contactPoints { kind value }
  policies(first: 20) { totalCount edges { roles { role } node { policyNo status covers { rider isMainCover } participants { role customer { id displayName } } } } } } }`;

/** customer → policies → participants → customer, `levels` times. */
function deepQuery(levels: number): string {
  let inner = 'id displayName';
  for (let i = 0; i < levels; i += 1)
    inner = `id policies(first: 100) { edges { node { policyNo participants { role customer { ${inner} } } } } }`;
  return `{ customerBySource(system: "core-policy", sourceId: "${DEMO_CUSTOMER.clientNo}") { ${inner} } }`;
}

const aliasedSearch = (n: number, value: (i: number) => string) =>
  `{ ${Array.from({ length: n }, (_, i) => `s${i}: searchCustomers(query: { idNumber: "${value(i)}" }) { edges { node { id } } }`).join(' ')} }`;

describe('query limits', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let demoId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({
      DATABASE_URL: db.url,
      HUB_SEARCH_RATE_PER_MINUTE: '10',
      HUB_SQL_STATEMENTS_HEADER: '1',
    });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'limits',
      generateCorePolicyDemo({ clients: 60, policies: 80 }),
      ingestDeps,
    );
    const r = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "${DEMO_CUSTOMER.clientNo}") { id } }`,
    );
    demoId = r.data.customerBySource.id;
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('refuses the 12-deep chain and the 1,000-alias search before running any SQL, while a 360 is answered', async () => {
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const [deep, aliases, answered] = await Promise.all([
      gql(hub.url, app, deepQuery(12)),
      gql(
        hub.url,
        app,
        aliasedSearch(1_000, (i) => `1101051985030${String(i).padStart(5, '0')}`),
      ),
      gql(hub.url, app, the360, { id: demoId }),
    ]);
    expect(deep.data).toBeNull();
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    expect(deep.sqlStatements).toBe(0);
    expect(aliases.data).toBeNull();
    expect(aliases.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(['aliases', 'tokens']).toContain(aliases.errors?.[0]?.extensions?.limit);
    expect(aliases.sqlStatements).toBe(0);
    expect(answered.sqlStatements).toBeGreaterThan(0);
    expect(answered.errors).toBeUndefined();
    expect(answered.data.customer.displayName).toBe(DEMO_CUSTOMER.name);
    expect(answered.data.customer.policies.totalCount).toBeGreaterThanOrEqual(3);
  });

  it('names the limit hit: depth, aliases and cost each refused with QUERY_TOO_COMPLEX', async () => {
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const depth = await gql(hub.url, app, deepQuery(3));
    expect(depth.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
    const aliases = await gql(
      hub.url,
      app,
      aliasedSearch(16, () => 'x'),
    );
    expect(aliases.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    // Within depth and aliases, but wide: many lists of 100 under lists of 100.
    const wide = `{ ${Array.from({ length: 12 }, (_, i) => `c${i}: customer(id: "${demoId}") { policies(first: 100) { edges { node { covers { rider isMainCover coverage } participants { role customer { id displayName identifiers { type value } contactPoints { kind value } } } } } } }`).join(' ')} }`;
    const cost = await gql(hub.url, app, wide);
    expect(cost.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
  });

  it('rate-limits searches by identifier per caller, each alias counting', async () => {
    const first = await tokenFor(hub, 'CHANNEL_APP');
    const r = await gql(
      hub.url,
      first,
      aliasedSearch(12, (i) => `11010519850307${String(i).padStart(4, '0')}`),
    );
    // 10 a minute: the 11th alias is refused (and, searchCustomers being non-null, the whole response with it).
    expect(r.errors?.map((e) => [e.extensions?.code, e.path?.[0]])).toEqual([['RATE_LIMITED', 's10']]);
    expect(r.data).toBeNull();
    // Another caller has a bucket of its own; a search by name is not limited.
    const other = await gql(
      hub.url,
      await tokenFor(hub, 'UNDERWRITER'),
      aliasedSearch(1, () => DEMO_CUSTOMER.idNumber),
    );
    expect(other.errors).toBeUndefined();
    expect(other.data.s0.edges).toHaveLength(1);
    const byName = await gql(
      hub.url,
      first,
      `{ searchCustomers(query: { name: "王小明" }) { edges { node { id } } } }`,
    );
    expect(byName.errors).toBeUndefined();
  });
});

describe('deadlines', () => {
  let db: TestDatabase;
  let hub: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url, HUB_QUERY_DEADLINE_MS: '1', HUB_STATEMENT_TIMEOUT_MS: '1' });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'deadline',
      generateCorePolicyDemo({ clients: 300, policies: 400 }),
      ingestDeps,
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('ends a request that runs past its deadline or a statement past its timeout with TIMEOUT', async () => {
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    // Twenty customers with contact points and policies: far more than 1 ms of work.
    const r = await gql(
      hub.url,
      steward,
      `{ searchCustomers(query: { name: "王" }, first: 20) { edges { node { id displayName contactPoints { value } policies(first: 5) { edges { node { policyNo } } } } } } }`,
    );
    const codes = new Set((r.errors ?? []).map((e) => e.extensions?.code));
    expect(codes.size).toBeGreaterThan(0);
    for (const code of codes) expect(code).toBe('TIMEOUT');
  });
});
