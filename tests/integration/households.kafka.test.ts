import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { coreEvent, type CoreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { eventually, gql } from '../support/graphql.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { signToken } from '../../src/auth/viewer.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Households on a real broker: a family of five sharing a landline and an address (the father insures his
 * wife and children) is one household and raises no network alert; three unrelated people sharing a mobile
 * do; a steward who moves family members out of the household has the network rules of everyone it touched
 * re-evaluated (the landline is now shared by three parties), and moving them back closes those alerts.
 */
const client = (no: string, over: Record<string, string | number | null>) => ({
  CLNTNUM: no,
  CLTTYPE: 'P',
  SURNAME: '李',
  GIVNAME: '明',
  CLTSEX: 'M',
  CLTDOB: 19800101,
  IDTYPE: '01',
  IDNO: null,
  MOBILE: null,
  PHONE: null,
  EMAIL: null,
  ADDR1: null,
  ADDR2: null,
  ADDR3: null,
  POSTCODE: null,
  OCCPCODE: null,
  DTEUPD: dteupd('2026-11-01T00:00:00Z'),
  ...over,
});
const home = { PHONE: '0571-87654321', ADDR1: '浙江省杭州市西湖区', ADDR2: '文二路18号3幢201室', POSTCODE: '310012' };
const family = [
  client('F0000001', { ...home, GIVNAME: '建国', CLTDOB: 19780304, IDNO: residentId('330106', '19780304', '011') }),
  client('F0000002', {
    ...home,
    SURNAME: '王',
    GIVNAME: '芳',
    CLTSEX: 'F',
    CLTDOB: 19800512,
    IDNO: residentId('330106', '19800512', '022'),
  }),
  client('F0000003', { ...home, GIVNAME: '子轩', CLTDOB: 20060101, IDNO: residentId('330106', '20060101', '031') }),
  client('F0000004', {
    ...home,
    GIVNAME: '雨涵',
    CLTSEX: 'F',
    CLTDOB: 20090202,
    IDNO: residentId('330106', '20090202', '042'),
  }),
  client('F0000005', { ...home, GIVNAME: '浩然', CLTDOB: 20120303, IDNO: residentId('330106', '20120303', '051') }),
];
const ring = [
  client('R0000001', {
    SURNAME: '赵',
    GIVNAME: '强',
    CLTDOB: 19700101,
    IDNO: residentId('110105', '19700101', '013'),
    MOBILE: '13912340000',
    ADDR1: '北京市朝阳区建国路1号',
  }),
  client('R0000002', {
    SURNAME: '钱',
    GIVNAME: '伟',
    CLTDOB: 19710202,
    IDNO: residentId('310104', '19710202', '017'),
    MOBILE: '13912340000',
    ADDR1: '上海市徐汇区漕溪路2号',
  }),
  client('R0000003', {
    SURNAME: '孙',
    GIVNAME: '丽',
    CLTSEX: 'F',
    CLTDOB: 19720303,
    IDNO: residentId('440106', '19720303', '028'),
    MOBILE: '13912340000',
    ADDR1: '广州市天河区体育西路3号',
  }),
];
const policy = {
  CHDRNUM: 'FP000001',
  CNTTYPE: 'WL1',
  STATCODE: 'IF',
  OCCDATE: 20240115,
  PTDATE: 20270115,
  SINSTAMT: '500000.00',
  INSTPREM: '12000.00',
  BILLFREQ: '01',
  SRCEBUS: 'AG',
  AGNTNUM: 'AG001',
  DTEUPD: dteupd('2026-11-01T00:00:00Z'),
};
const role = (clnt: string, r: string, rel: string | null) => ({
  CHDRNUM: 'FP000001',
  CLNTNUM: clnt,
  CLRRROLE: r,
  BNYSEQ: null,
  BNYPC: null,
  VALIDFLAG: '1',
  CLTRELN: rel,
  DTEUPD: dteupd('2026-11-01T00:00:00Z'),
});

const customerQuery = `query($system: String!, $id: String!) { customerBySource(system: $system, sourceId: $id) {
  id riskAssessment { level score reasons { kind code points share } }
  household { id version members { customer { id } relation pinned } history { action actor } }
  relationships(first: 10) { edges { node { kind family policies roles basis customer { id } } } }
} }`;

describe('households and network rules on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `hh${randomBytes(3).toString('hex')}.`;
  const db$ = () => new pg.Client({ connectionString: db.url });

  async function openNetworkAlerts(): Promise<{ source_id: string; rule_code: string; evidence: any }[]> {
    const c = db$();
    await c.connect();
    try {
      return (
        await c.query(
          `select sr.source_id, a.rule_code, a.evidence from alert a join source_record sr on sr.party_id = a.party_id
            where a.status <> 'CLOSED' and a.rule_code like 'SHARED_%' order by sr.source_id, a.rule_code`,
        )
      ).rows;
    } finally {
      await c.end();
    }
  }
  const settled = async () => {
    const c = db$();
    await c.connect();
    try {
      return (await c.query(`select 1 from risk_work`)).rowCount === 0 ? true : undefined;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test-producer'),
      Object.values(corePolicyTopics).map((tp) => prefix + tp),
    );
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      RISK_ROUND_MS: '100',
    });
    await setAlertHolds(db.url, 0);
    const events: CoreEvent[] = [
      ...[...family, ...ring].map((row) => coreEvent('client', 'r', row)),
      coreEvent('policy', 'r', policy),
      coreEvent('role', 'r', role('F0000001', 'OW', null)),
      coreEvent('role', 'r', role('F0000002', 'LF', null)),
      coreEvent('role', 'r', role('F0000001', 'BN', 'SP')),
      coreEvent('role', 'r', role('F0000003', 'BN', 'CH')),
    ];
    await publishAndWait(brokers, prefix, db.url, events);
    await eventually(settled, 60_000, 'the risk settlement');
  }, 180_000);

  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('keeps a family of five apart from the network rules and flags three unrelated sharers of a mobile', async () => {
    const alerts = await openNetworkAlerts();
    expect(alerts.map((a) => [a.source_id, a.rule_code])).toEqual([
      ['R0000001', 'SHARED_CONTACT'],
      ['R0000002', 'SHARED_CONTACT'],
      ['R0000003', 'SHARED_CONTACT'],
    ]);
    expect(alerts[0]?.evidence.phones[0]).toMatchObject({ customers: 3, holders: 3 });
    expect(alerts[0]?.evidence.phones[0].sharers.map((s: { why: string }) => s.why)).toEqual([
      'UNRELATED',
      'UNRELATED',
      'UNRELATED',
    ]);

    const token = await tokenFor(hub, 'UNDERWRITER');
    const father = await gql(hub.url, token, customerQuery, { system: 'core-policy', id: 'F0000001' });
    expect(father.errors).toBeUndefined();
    const c = father.data.customerBySource;
    expect(c.household.members).toHaveLength(5);
    // Relationships come strongest first: the first per customer names the relation.
    const strongest = (r: any) => {
      const out: Record<string, string> = {};
      for (const e of r.data.customerBySource.relationships.edges) out[e.node.customer.id] ??= e.node.kind;
      return out;
    };
    const wife = await gql(hub.url, token, customerQuery, { system: 'core-policy', id: 'F0000002' });
    const child = await gql(hub.url, token, customerQuery, { system: 'core-policy', id: 'F0000003' });
    const grandchild = await gql(hub.url, token, customerQuery, { system: 'core-policy', id: 'F0000005' });
    const [wifeId, childId, youngestId] = [wife, child, grandchild].map((r) => r.data.customerBySource.id as string);
    // the husband is the insured wife's beneficiary with relation code SP; the child hers with CH
    expect(strongest(father)[wifeId as string]).toBe('SPOUSE');
    expect(strongest(wife)[childId as string]).toBe('PARENT_CHILD');
    // the youngest is on no policy: a housemate by address and landline
    expect(strongest(father)[youngestId as string]).toBe('CO_RESIDENT');
    expect(
      grandchild.data.customerBySource.relationships.edges.every((e: any) => e.node.basis.includes('SAME_LANDLINE')),
    ).toBe(true);
    expect(c.riskAssessment).toEqual({ level: 'LOW', score: 0, reasons: [] });

    const ringMember = await gql(hub.url, token, customerQuery, { system: 'core-policy', id: 'R0000001' });
    expect(ringMember.data.customerBySource.riskAssessment).toMatchObject({
      level: 'LOW',
      score: 20,
      reasons: [{ kind: 'ALERT', code: 'SHARED_CONTACT', points: 20, share: 1 }],
    });
    // a channel app sees the level only
    const app = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), customerQuery, {
      system: 'core-policy',
      id: 'R0000001',
    });
    expect(app.data.customerBySource.riskAssessment).toEqual({ level: 'LOW', score: null, reasons: null });
  });

  it('re-evaluates everyone a steward correction touches', async () => {
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const idOf = async (source: string) =>
      (await gql(hub.url, steward, customerQuery, { system: 'core-policy', id: source })).data.customerBySource;
    const father = await idOf('F0000001');
    const householdId = father.household.id as string;
    const move = `mutation($c: ID!, $h: ID, $r: String!) { moveHouseholdMember(customerId: $c, householdId: $h, reason: $r) {
      __typename ... on Household { id version members { customer { id } pinned } } ... on ErrorResult { errorCode message } } }`;
    // Two children moved out, each to a household of their own: the landline and the address are now shared by
    // three parties (the rest of the family, and each child), which the rules count as a network.
    for (const source of ['F0000004', 'F0000005']) {
      const child = await idOf(source);
      const r = await gql(hub.url, steward, move, { c: child.id, h: null, r: 'lives elsewhere since 2025' });
      expect(r.data.moveHouseholdMember.__typename).toBe('Household');
      expect(r.data.moveHouseholdMember.members).toEqual([{ customer: { id: child.id }, pinned: true }]);
    }
    await eventually(settled, 30_000, 'the re-evaluation');
    const flagged = await openNetworkAlerts();
    expect(flagged.filter((a) => a.source_id.startsWith('F')).map((a) => [a.source_id, a.rule_code])).toEqual(
      ['F0000001', 'F0000002', 'F0000003', 'F0000004', 'F0000005'].map((s) => [s, 'SHARED_CONTACT']),
    );
    const evidence = flagged.find((a) => a.source_id === 'F0000001')?.evidence.phones[0];
    expect(evidence).toMatchObject({ customers: 3, holders: 5 });
    expect(evidence.sharers.filter((s: { counted: boolean }) => !s.counted).map((s: { why: string }) => s.why)).toEqual(
      ['SAME_HOUSEHOLD', 'SAME_HOUSEHOLD'],
    );

    // Moved back into the family's household: the alerts close again.
    for (const source of ['F0000004', 'F0000005']) {
      const child = await idOf(source);
      const r = await gql(hub.url, steward, move, { c: child.id, h: householdId, r: 'back home' });
      expect(r.data.moveHouseholdMember.__typename).toBe('Household');
    }
    await eventually(settled, 30_000, 'the re-evaluation');
    expect((await openNetworkAlerts()).filter((a) => a.source_id.startsWith('F'))).toEqual([]);
    const after = await idOf('F0000001');
    expect(after.household.id).toBe(householdId);
    expect(after.household.members).toHaveLength(5);
    expect(after.household.history.map((h: { action: string }) => h.action)).toEqual([
      'CREATED',
      ...Array(5).fill('JOINED'),
      'LEFT',
      'LEFT',
      'JOINED',
      'JOINED',
    ]);

    // An error is typed, not thrown.
    const bad = await gql(hub.url, steward, move, { c: father.id, h: '00000000-0000-4000-8000-000000000000', r: 'x' });
    expect(bad.data.moveHouseholdMember).toMatchObject({ __typename: 'NotFoundError', errorCode: 'NOT_FOUND' });
  });
  it('proposes a value held by very many as an exclusion; risk admins decide, four eyes', async () => {
    // Eleven unrelated employees with the company switchboard on their records (more than maxCustomers, 10).
    const switchboard = '0571-88880000';
    const staff = Array.from({ length: 11 }, (_, i) =>
      client(`S00000${String(i + 10)}`, {
        SURNAME: '赵钱孙李周吴郑王冯陈褚'[i] as string,
        // different people: own given names, birth years apart (and own resident ids)
        GIVNAME: ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军', '杰'][i] as string,
        CLTDOB: 19700101 + i * 20_000,
        IDNO: residentId('330106', String(19700101 + i * 20_000), `${String(i + 10)}1`),
        PHONE: switchboard,
        ADDR1: `杭州市滨江区江南大道${i + 1}号`,
      }),
    );
    await publishAndWait(
      brokers,
      prefix,
      db.url,
      staff.map((row) => coreEvent('client', 'r', row)),
    );
    await eventually(settled, 60_000, 'the risk settlement');
    expect((await openNetworkAlerts()).filter((a) => a.source_id.startsWith('S'))).toEqual([]);

    const admin = await tokenFor(hub, 'RISK_ADMIN');
    const second = await signToken(hub.tokens, 'second-risk-admin', ['RISK_ADMIN']);
    const list = `query { networkExclusions(status: PROPOSED) { edges { node { id contact key holders status proposedBy reason } } } }`;
    const proposed = await gql(hub.url, admin, list);
    expect(proposed.errors).toBeUndefined();
    const proposal = proposed.data.networkExclusions.edges.map((e: any) => e.node);
    expect(proposal).toHaveLength(1);
    expect(proposal[0]).toMatchObject({ contact: 'PHONE', holders: 11, status: 'PROPOSED', proposedBy: 'system' });
    // a risk admin may not see phones: the key is masked
    expect(proposal[0].key).not.toContain('88880000');

    // The proposal rejected (it is a ring after all): the value counts, and all eleven are flagged.
    const reject = `mutation($id: ID!) { rejectNetworkExclusion(id: $id, reason: "not a switchboard") { __typename ... on NetworkExclusion { status decidedBy } } }`;
    const rejected = await gql(hub.url, admin, reject, { id: proposal[0].id });
    expect(rejected.data.rejectNetworkExclusion).toEqual({
      __typename: 'NetworkExclusion',
      status: 'REJECTED',
      decidedBy: 'test-risk_admin',
    });
    await eventually(settled, 30_000, 'the re-evaluation');
    expect((await openNetworkAlerts()).filter((a) => a.source_id.startsWith('S'))).toHaveLength(11);

    // A risk admin proposes the ring's mobile as an exclusion: not by themselves, by a second admin.
    const propose = `mutation { proposeNetworkExclusion(contact: PHONE, value: "+86 139 1234 0000", reason: "our branch's service phone") {
      __typename ... on NetworkExclusion { id status } ... on ErrorResult { errorCode } } }`;
    const mine = await gql(hub.url, admin, propose);
    expect(mine.data.proposeNetworkExclusion).toMatchObject({ __typename: 'NetworkExclusion', status: 'PROPOSED' });
    const approve = `mutation($id: ID!) { approveNetworkExclusion(id: $id) { __typename ... on NetworkExclusion { status } ... on ErrorResult { errorCode } } }`;
    const self = await gql(hub.url, admin, approve, { id: mine.data.proposeNetworkExclusion.id });
    expect(self.data.approveNetworkExclusion).toEqual({ __typename: 'SelfApprovalError', errorCode: 'SELF_APPROVAL' });
    const other = await gql(hub.url, second, approve, { id: mine.data.proposeNetworkExclusion.id });
    expect(other.data.approveNetworkExclusion).toEqual({ __typename: 'NetworkExclusion', status: 'APPROVED' });
    await eventually(settled, 30_000, 'the re-evaluation');
    expect((await openNetworkAlerts()).filter((a) => a.source_id.startsWith('R'))).toEqual([]);
    // underwriters may read exclusions, not decide them
    const underwriter = await gql(hub.url, await tokenFor(hub, 'UNDERWRITER'), approve, { id: proposal[0].id });
    expect(underwriter.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
