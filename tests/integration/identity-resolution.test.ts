import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coreEvent,
  deleteWithTombstone,
  dteupd,
  residentId,
  type CoreEvent,
} from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * Incremental identity resolution through the sync step, observed in GraphQL: a record that bridges two
 * golden records merges them (the merged id stays an alias), an update that breaks the evidence splits them,
 * possible matches go to review where a rejection is remembered, and stewards merge and split by hand.
 */
const idA = residentId('110101', '19800101', '011');
let clock = 0;
const at = () => dteupd('2026-11-01T00:00:00Z') + (clock += 1) * 1_000_000;
const person = (no: string, over: Record<string, string | number | null>) =>
  coreEvent('client', 'r', {
    CLNTNUM: no,
    CLTTYPE: 'P',
    SURNAME: '张',
    GIVNAME: '伟',
    CLTSEX: 'M',
    CLTDOB: 19800101,
    IDTYPE: null,
    IDNO: null,
    MOBILE: null,
    PHONE: null,
    EMAIL: null,
    ADDR1: null,
    POSTCODE: null,
    OCCPCODE: null,
    DTEUPD: at(),
    ...over,
  });

const q = `query($id: ID!) { customer(id: $id) { id status version displayName
  sourceRecords { sourceId linkType matchExplanation { decision probability comparisons { comparison level weight } } }
  lineage { attribute source { sourceId } }
  history { version cause detail } } }`;
const bySource = `query($s: String!) { customerBySource(system: "core-policy", sourceId: $s) { id } }`;

describe('identity resolution', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let steward: string;
  let stream = 0;
  const router = new TopicRouter(connectors);
  const apply = (events: CoreEvent[]) => ingestBatch(hub.orm, router, `s${(stream += 1)}`, events, ingestDeps);
  const customerOf = async (sourceId: string): Promise<string | null> =>
    (await gql(hub.url, steward, bySource, { s: sourceId })).data.customerBySource?.id ?? null;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
    steward = await tokenFor(hub, 'DATA_STEWARD');
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('sends a doubtful bridge to review instead of merging: golden records merge only when they match as wholes', async () => {
    // A and B: same common name, different birth dates, nothing else shared → two people as far as we know.
    await apply([person('A0000001', { IDTYPE: '01', IDNO: idA, MOBILE: '13911112222' })]);
    await apply([person('B0000001', { CLTDOB: 19900505, EMAIL: 'zhangwei90@example.cn' })]);
    const a = await customerOf('A0000001');
    const b = await customerOf('B0000001');
    expect(a).not.toBeNull();
    expect(b).not.toBe(a);

    // C carries A's resident id and B's email and birth date: it matches both, but A and B do not match each
    // other (different birth dates). C joins A, the record its id names; B stays apart, and the bridge to B
    // is a possible match for a steward, with why.
    await apply([person('C0000001', { IDTYPE: '01', IDNO: idA, CLTDOB: 19900505, EMAIL: 'zhangwei90@example.cn' })]);
    expect(await customerOf('C0000001')).toBe(a);
    expect(await customerOf('B0000001')).toBe(b);
    const tasks = await gql(
      hub.url,
      steward,
      `{ reviewTasks { edges { node { sourceRecord { sourceId } candidate { id } explanation { decision note } } } } }`,
    );
    const bridge = tasks.data.reviewTasks.edges.find(
      (e: any) => e.node.sourceRecord.sourceId === 'C0000001' && e.node.candidate.id === b,
    )?.node;
    expect(bridge?.explanation.decision).toBe('POSSIBLE_MATCH');
    expect(bridge?.explanation.note).toContain('doubtful bridge');

    // The steward decides they are one person: the merged-away id resolves to the survivor.
    const merge = await gql(
      hub.url,
      steward,
      `mutation($s: ID!, $m: ID!) { mergeCustomers(survivorId: $s, mergedId: $m, reason: "same person, checked by phone") { __typename } }`,
      { s: a, m: b },
    );
    expect(merge.data.mergeCustomers.__typename).toBe('Customer');
    const alias = await gql(hub.url, steward, q, { id: b });
    expect(alias.data.customer.id).toBe(a);
    const merged = (await gql(hub.url, steward, q, { id: a })).data.customer;
    expect(merged.sourceRecords.map((s: any) => s.sourceId).sort()).toEqual(['A0000001', 'B0000001', 'C0000001']);
    const c = merged.sourceRecords.find((s: any) => s.sourceId === 'C0000001');
    expect(c.matchExplanation.decision).toBe('MATCH');
    expect(c.matchExplanation.comparisons.length).toBeGreaterThan(1);
  });

  it('joins a record to a golden record it matches as a whole, and splits it off again when the bridge changes', async () => {
    const idE = residentId('110101', '19800101', '051');
    // E1 and E3 share a resident id (one golden record); E2 shares E3's email and birth date and the name.
    await apply([person('E0000001', { IDTYPE: '01', IDNO: idE, MOBILE: '13911113333' })]);
    await apply([person('E0000003', { IDTYPE: '01', IDNO: idE, CLTDOB: 19900505, EMAIL: 'zw.e@example.cn' })]);
    await apply([person('E0000002', { CLTDOB: 19900505, EMAIL: 'zw.e@example.cn' })]);
    const e = await customerOf('E0000001');
    expect(await customerOf('E0000003')).toBe(e);
    expect(await customerOf('E0000002')).toBe(e);
    // E3 is corrected at the source: no id, no email, another birth date. Nothing holds E2 to E1 now.
    await apply([person('E0000003', { CLTDOB: 19700707 })]);
    expect(await customerOf('E0000001')).toBe(e); // the oldest record's component keeps the golden id
    expect(new Set([e, await customerOf('E0000002'), await customerOf('E0000003')]).size).toBe(3);
    const after = (await gql(hub.url, steward, q, { id: e })).data.customer;
    expect(after.history.map((h: any) => h.cause)).toContain('UNMERGE');
  });

  it('sends a possible match to review; a rejection is remembered and never proposed again', async () => {
    // Same (common) name and a birth date one digit apart, nothing else: possible, not certain.
    await apply([person('R0000001', { GIVNAME: '秀英', SURNAME: '王', CLTDOB: 19650303, MOBILE: '13700001111' })]);
    await apply([person('R0000002', { GIVNAME: '秀英', SURNAME: '王', CLTDOB: 19650304 })]);
    const tasks = await gql(
      hub.url,
      steward,
      `{ reviewTasks { edges { node { id status probability sourceRecord { sourceId } candidate { id } explanation { decision comparisons { comparison level } } } } } }`,
    );
    expect(tasks.errors).toBeUndefined();
    const task = tasks.data.reviewTasks.edges.find((e: any) => e.node.sourceRecord.sourceId === 'R0000002')?.node;
    expect(task).toBeDefined();
    expect(task.explanation.decision).toBe('POSSIBLE_MATCH');
    expect(task.candidate.id).toBe(await customerOf('R0000001'));

    const rejected = await gql(
      hub.url,
      steward,
      `mutation($t: ID!) { rejectMatch(taskId: $t, reason: "different people") { __typename ... on ReviewTask { status decidedBy } ... on ErrorResult { errorCode message } } }`,
      { t: task.id },
    );
    expect(rejected.data.rejectMatch).toMatchObject({ __typename: 'ReviewTask', status: 'REJECTED' });
    const again = await gql(
      hub.url,
      steward,
      `mutation($t: ID!) { rejectMatch(taskId: $t) { __typename ... on ErrorResult { errorCode message } } }`,
      { t: task.id },
    );
    expect(again.data.rejectMatch).toMatchObject({ __typename: 'InvalidStateError', errorCode: 'INVALID_STATE' });

    // A new version of R0000002 arrives: still possible, but rejected → no new task for that pair.
    await apply([person('R0000002', { GIVNAME: '秀英', SURNAME: '王', CLTDOB: 19650304, OCCPCODE: 'B201' })]);
    const open = await gql(hub.url, steward, `{ reviewTasks { edges { node { sourceRecord { sourceId } } } } }`);
    expect(open.data.reviewTasks.edges.filter((e: any) => e.node.sourceRecord.sourceId === 'R0000002')).toHaveLength(0);
    expect(await customerOf('R0000002')).not.toBe(await customerOf('R0000001'));
  });

  it('confirming a possible match merges the record into the candidate', async () => {
    await apply([person('S0000001', { GIVNAME: '淑珍', SURNAME: '刘', CLTDOB: 19700101 })]);
    await apply([person('S0000002', { GIVNAME: '淑珍', SURNAME: '刘', CLTDOB: 19700102 })]);
    const tasks = await gql(hub.url, steward, `{ reviewTasks { edges { node { id sourceRecord { sourceId } } } } }`);
    const task = tasks.data.reviewTasks.edges.find((e: any) => e.node.sourceRecord.sourceId === 'S0000002')?.node;
    expect(task).toBeDefined();
    const r = await gql(
      hub.url,
      steward,
      `mutation($t: ID!) { confirmMatch(taskId: $t) { __typename ... on ReviewTask { status decidedBy customer { id sourceRecords { sourceId linkType } } candidate { id } } } }`,
      { t: task.id },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.confirmMatch).toMatchObject({
      __typename: 'ReviewTask',
      status: 'CONFIRMED',
      decidedBy: 'test-data_steward',
    });
    expect(await customerOf('S0000002')).toBe(await customerOf('S0000001'));
    expect(r.data.confirmMatch.customer.sourceRecords.map((x: any) => x.sourceId).sort()).toEqual([
      'S0000001',
      'S0000002',
    ]);
  });

  it('lets a steward confirm, merge and split by hand, with typed errors', async () => {
    await apply([person('M0000001', { GIVNAME: '桂英', SURNAME: '李', CLTDOB: 19580808 })]);
    await apply([person('M0000002', { GIVNAME: '桂英', SURNAME: '李', CLTDOB: 19580818 })]);
    const m1 = (await customerOf('M0000001')) as string;
    const m2 = (await customerOf('M0000002')) as string;
    const merge = `mutation($s: ID!, $m: ID!) { mergeCustomers(survivorId: $s, mergedId: $m, reason: "same person, verified by phone") { __typename ... on Customer { id sourceRecords { sourceId } history { cause detail } } ... on ErrorResult { errorCode message } } }`;
    if (m1 !== m2) {
      const r = await gql(hub.url, steward, merge, { s: m1, m: m2 });
      expect(r.data.mergeCustomers.__typename).toBe('Customer');
      expect(r.data.mergeCustomers.history[0].cause).toBe('STEWARD_ACTION');
      expect(JSON.parse(r.data.mergeCustomers.history[0].detail).by).toBe('test-data_steward');
    }
    expect(await customerOf('M0000002')).toBe(m1);
    const twice = await gql(hub.url, steward, merge, {
      s: m1,
      m: m2 === m1 ? '00000000-0000-0000-0000-000000000000' : m2,
    });
    expect(['INVALID_STATE', 'NOT_FOUND']).toContain(twice.data.mergeCustomers.errorCode);

    const split = await gql(
      hub.url,
      steward,
      `mutation { splitSourceRecord(system: "core-policy", sourceId: "M0000002", reason: "twins") { __typename ... on Customer { id sourceRecords { sourceId } } ... on ErrorResult { errorCode } } }`,
    );
    expect(split.data.splitSourceRecord.__typename).toBe('Customer');
    expect(split.data.splitSourceRecord.sourceRecords.map((s: any) => s.sourceId)).toEqual(['M0000002']);
    // A later update of the split record does not put it back.
    await apply([person('M0000002', { GIVNAME: '桂英', SURNAME: '李', CLTDOB: 19580818, OCCPCODE: 'C301' })]);
    expect(await customerOf('M0000002')).not.toBe(m1);

    const lonely = await gql(
      hub.url,
      steward,
      `mutation { splitSourceRecord(system: "core-policy", sourceId: "M0000002") { __typename ... on ErrorResult { errorCode } } }`,
    );
    expect(lonely.data.splitSourceRecord).toMatchObject({
      __typename: 'InvalidStateError',
      errorCode: 'INVALID_STATE',
    });
    const missing = await gql(
      hub.url,
      steward,
      `mutation { confirmMatch(taskId: "00000000-0000-0000-0000-000000000000") { __typename ... on ErrorResult { errorCode } } }`,
    );
    expect(missing.data.confirmMatch).toMatchObject({ __typename: 'NotFoundError', errorCode: 'NOT_FOUND' });
    const forbidden = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `mutation { splitSourceRecord(system: "core-policy", sourceId: "M0000001") { __typename } }`,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('splits a golden record when the bridging record is deleted', async () => {
    const idD = residentId('110101', '19700101', '031');
    // D3 joins D1 by the resident id; D2 then matches the golden record as a whole (strongly D3, weakly D1).
    await apply([person('D0000001', { GIVNAME: '建国', IDTYPE: '01', IDNO: idD, CLTDOB: 19700101 })]);
    await apply([
      person('D0000003', { GIVNAME: '建国', IDTYPE: '01', IDNO: idD, CLTDOB: 19750202, EMAIL: 'jianguo@example.cn' }),
    ]);
    await apply([person('D0000002', { GIVNAME: '建国', CLTDOB: 19750202, EMAIL: 'jianguo@example.cn' })]);
    expect(await customerOf('D0000002')).toBe(await customerOf('D0000001'));
    await apply(deleteWithTombstone('client', { CLNTNUM: 'D0000003', DTEUPD: at() }));
    expect(await customerOf('D0000002')).not.toBe(await customerOf('D0000001'));
  });

  it('refreshes the lineage of a repeated winning record in place, without a new version; a changed value makes one', async () => {
    const idL = residentId('110101', '19850303', '123');
    const lu = (no: string, over: Record<string, string | number | null> = {}) =>
      person(no, {
        SURNAME: '欧阳',
        GIVNAME: '澜',
        CLTSEX: 'F',
        CLTDOB: 19850303,
        IDTYPE: '01',
        IDNO: idL,
        OCCPCODE: 'T01',
        ...over,
      });
    await apply([lu('L0000001'), lu('L0000002')]);
    const id = await customerOf('L0000001');
    expect(await customerOf('L0000002')).toBe(id);
    const state = async () => {
      const [p] = await hub.orm.em.fork().execute<
        {
          version: number;
          lineage: Record<string, { sourceId: string; sourceTime: string | null }>;
          history: number;
        }[]
      >(
        `select version, lineage, (select count(*)::int from party_history h where h.party_id = p.id) as history from party p where id = ?`,
        [id],
      );
      return p!;
    };
    const before = await state();
    // The same customer again from L0000002 (the premium payer repeated): same values, newer source time.
    await apply([lu('L0000002')]);
    const repeated = await state();
    expect(repeated.version).toBe(before.version);
    expect(repeated.history).toBe(before.history);
    const won = Object.entries(repeated.lineage).filter(([, l]) => l.sourceId === 'L0000002');
    expect(won.length).toBeGreaterThan(0);
    for (const [attribute, l] of won)
      expect(Date.parse(l.sourceTime ?? '')).toBeGreaterThan(Date.parse(before.lineage[attribute]?.sourceTime ?? ''));
    // A changed value is a new version with its history row.
    await apply([lu('L0000002', { OCCPCODE: 'T02' })]);
    const changed = await state();
    expect(changed.version).toBe(before.version + 1);
    expect(changed.history).toBe(before.history + 1);
  });
});
