import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreEvent, dteupd, residentId, type CoreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';
import pg from 'pg';

/**
 * No N+1: the customer 360 (policies with covers, participants and each participant's customer, identifiers,
 * contact points, source records) costs the same number of SQL statements for 5 policies as for 50.
 */
function customerWithPolicies(clientNo: string, idSeq: string, mobile: string, count: number): CoreEvent[] {
  const at = dteupd('2026-11-01T09:00:00+08:00');
  const events: CoreEvent[] = [
    coreEvent('client', 'r', {
      CLNTNUM: clientNo,
      CLTTYPE: 'P',
      SURNAME: '陈',
      GIVNAME: `客户${idSeq}`,
      CLTSEX: 'F',
      CLTDOB: 19800101,
      IDTYPE: '01',
      IDNO: residentId('440104', '19800101', idSeq),
      MOBILE: mobile,
      DTEUPD: at,
    }),
    coreEvent('client', 'r', {
      CLNTNUM: `B${clientNo.slice(1)}`,
      CLTTYPE: 'P',
      SURNAME: '林',
      GIVNAME: '受益',
      CLTSEX: 'M',
      CLTDOB: 20100101,
      IDTYPE: '01',
      IDNO: residentId('440104', '20100101', String(Number(idSeq) + 1).padStart(3, '0')),
      DTEUPD: at,
    }),
  ];
  for (let i = 0; i < count; i += 1) {
    const policyNo = `${clientNo.slice(0, 2)}${String(i).padStart(6, '0')}`;
    events.push(
      coreEvent('policy', 'r', {
        CHDRNUM: policyNo,
        CNTTYPE: 'END',
        STATCODE: 'IF',
        OCCDATE: 20200101 + i,
        PTDATE: 0,
        SINSTAMT: '10000.00',
        INSTPREM: '100.00',
        BILLFREQ: '12',
        SRCEBUS: 'BA',
        AGNTNUM: null,
        DTEUPD: at,
      }),
    );
    events.push(
      coreEvent('cover', 'r', {
        CHDRNUM: policyNo,
        COVERAGE: '01',
        RIDER: '00',
        CRTABLE: 'END1',
        SUMINS: '10000.00',
        INSTPREM: '90.00',
        STATCODE: 'IF',
        DTEUPD: at,
      }),
    );
    events.push(
      coreEvent('cover', 'r', {
        CHDRNUM: policyNo,
        COVERAGE: '01',
        RIDER: '01',
        CRTABLE: 'HOS1',
        SUMINS: '2000.00',
        INSTPREM: '10.00',
        STATCODE: 'IF',
        DTEUPD: at,
      }),
    );
    events.push(
      coreEvent('role', 'r', {
        CHDRNUM: policyNo,
        CLNTNUM: clientNo,
        CLRRROLE: 'OW',
        BNYSEQ: null,
        BNYPC: null,
        VALIDFLAG: '1',
        DTEUPD: at,
      }),
    );
    events.push(
      coreEvent('role', 'r', {
        CHDRNUM: policyNo,
        CLNTNUM: clientNo,
        CLRRROLE: 'LF',
        BNYSEQ: null,
        BNYPC: null,
        VALIDFLAG: '1',
        DTEUPD: at,
      }),
    );
    events.push(
      coreEvent('role', 'r', {
        CHDRNUM: policyNo,
        CLNTNUM: `B${clientNo.slice(1)}`,
        CLRRROLE: 'BN',
        BNYSEQ: 1,
        BNYPC: '100.00',
        VALIDFLAG: '1',
        DTEUPD: at,
      }),
    );
  }
  return events;
}

const query = `query($phone: String!) {
  searchCustomers(query: { phone: $phone }) { edges { node {
    id displayName
    identifiers { type value source { system sourceId } }
    contactPoints { kind value source { sourceId } }
    sourceRecords { system sourceId linkType }
    lineage { attribute source { sourceId } }
    policies(first: 50) { totalCount edges { cursor roles { role } node {
      policyNo status covers { rider productCode sumInsured }
      participants { role sharePercent customer { id displayName identifiers { type value } } }
    } } }
  } } }
}`;

describe('customer 360 statement count', () => {
  let db: TestDatabase;
  let hub: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url, HUB_SQL_STATEMENTS_HEADER: '1' });
    const router = new TopicRouter(connectors);
    await ingestBatch(
      hub.orm,
      router,
      'fixture',
      [
        ...customerWithPolicies('S0000001', '101', '13500000005', 5),
        ...customerWithPolicies('L0000001', '201', '13500000050', 50),
      ],
      ingestDeps,
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('issues a constant number of SQL statements for 5 and for 50 policies', async () => {
    const token = await tokenFor(hub, 'DATA_STEWARD');
    const small = await gql(hub.url, token, query, { phone: '13500000005' });
    const large = await gql(hub.url, token, query, { phone: '13500000050' });
    expect(small.errors).toBeUndefined();
    expect(large.errors).toBeUndefined();
    expect(small.data.searchCustomers.edges[0].node.policies.edges).toHaveLength(5);
    const largeNode = large.data.searchCustomers.edges[0].node;
    expect(largeNode.policies.totalCount).toBe(50);
    expect(largeNode.policies.edges).toHaveLength(50);
    expect(
      largeNode.policies.edges.every((e: any) => e.node.covers.length === 2 && e.node.participants.length === 3),
    ).toBe(true);
    expect(
      largeNode.policies.edges[0].node.participants.find((p: any) => p.role === 'BENEFICIARY').customer.displayName,
    ).toBe('林受益');
    expect(small.sqlStatements).toBeGreaterThan(0);
    expect(large.sqlStatements).toBe(small.sqlStatements);
    process.stdout.write(
      `customer 360 SQL statements: 5 policies ${small.sqlStatements}, 50 policies ${large.sqlStatements}\n`,
    );
  });

  it('reads a customer 360 by id in one statement, with the answer its loaders give', async () => {
    const token = await tokenFor(hub, 'DATA_STEWARD');
    const fields = `id displayName version identifiers { type value valid issues } contactPoints { kind value validFrom }
      policies(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor roles { role current }
        node { policyNo status sumInsured premium covers { rider productCode sumInsured } participants { role sharePercent clientSourceId } } } }`;
    for (const phone of ['13500000005', '13500000050']) {
      const found = await gql(
        hub.url,
        token,
        `query($p: String!) { searchCustomers(query: { phone: $p }) { edges { node { id } } } }`,
        { p: phone },
      );
      const id = found.data.searchCustomers.edges[0].node.id;
      // customer(id:) reads ahead (src/resolvers/lookahead.ts); node(id:) does not: every part through its loader.
      const planned = await gql(hub.url, token, `query($id: ID!) { customer(id: $id) { ${fields} } }`, { id });
      const loaded = await gql(hub.url, token, `query($id: ID!) { node(id: $id) { ... on Customer { ${fields} } } }`, {
        id,
      });
      expect(planned.errors).toBeUndefined();
      expect(loaded.errors).toBeUndefined();
      expect(planned.data.customer).toEqual(loaded.data.node);
      expect(planned.data.customer.policies.edges.length).toBeGreaterThanOrEqual(5);
      // The one statement, without a snapshot around it (src/resolvers/read-modes.ts).
      expect(planned.sqlStatements).toBe(1);
      expect(loaded.sqlStatements).toBeGreaterThan(planned.sqlStatements ?? 0);
    }
  });

  it('answers a merged-away id, which one statement cannot, with its survivor, read again in a snapshot', async () => {
    const token = await tokenFor(hub, 'DATA_STEWARD');
    const found = await gql(
      hub.url,
      token,
      `query($p: String!) { searchCustomers(query: { phone: $p }) { edges { node { id } } } }`,
      { p: '13500000005' },
    );
    const survivor: string = found.data.searchCustomers.edges[0].node.id;
    const alias = '00000000-0000-4000-8000-000000000005';
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        `insert into party select * from json_populate_record(null::party,
           (select to_jsonb(p) || jsonb_build_object('id', $2::uuid, 'status', 'MERGED', 'merged_into_id', p.id)
              from party p where p.id = $1)::json)`,
        [survivor, alias],
      );
    } finally {
      await client.end();
    }
    const fields = `id displayName identifiers { value } contactPoints { value }
      policies(first: 100) { totalCount edges { roles { role } node { policyNo covers { rider } participants { role } } } }`;
    const direct = await gql(hub.url, token, `query($id: ID!) { customer(id: $id) { ${fields} } }`, { id: survivor });
    const merged = await gql(hub.url, token, `query($id: ID!) { customer(id: $id) { ${fields} } }`, { id: alias });
    expect(direct.errors).toBeUndefined();
    expect(merged.errors).toBeUndefined();
    expect(merged.data.customer.id).toBe(survivor);
    expect(merged.data.customer).toEqual(direct.data.customer);
    expect(direct.sqlStatements).toBe(1);
    // The first try, 6 statements (the customer: merged; the alias and the survivor through the party loader; the
    // survivor's identifiers, contact points and policies through theirs), thrown away; then in a snapshot its
    // begin and the same 6. Without the second run it would be 6.
    expect(merged.sqlStatements).toBe(13);
  });
});
