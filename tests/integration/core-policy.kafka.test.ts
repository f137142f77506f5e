import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import {
  coreEvent,
  deleteWithTombstone,
  dteupd,
  residentId,
  type CoreEvent,
} from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * The core-policy connector end to end: Debezium events on a real broker → hub → GraphQL over HTTP.
 * Covers snapshot reads, updates, a stale (older) update, deletes with tombstones, a role that arrives before
 * its policy, exact-id linking of two client numbers of one person, and a malformed message.
 */
const wangId = residentId('110105', '19850307', '123'); // male (odd sequence)
const t = (s: string) => dteupd(`2026-11-0${s}T09:00:00+08:00`);

const client = (no: string, over: Record<string, string | number | null>) => ({
  CLNTNUM: no,
  CLTTYPE: 'P',
  SURNAME: '王',
  GIVNAME: '小明',
  CLTSEX: 'M',
  CLTDOB: 19850307,
  IDTYPE: '01',
  IDNO: wangId,
  MOBILE: '13800138000',
  PHONE: '021-62345678',
  EMAIL: 'wxm@example.cn',
  ADDR1: '上海市徐汇区',
  ADDR2: '漕溪北路88号',
  ADDR3: null,
  POSTCODE: '200030',
  OCCPCODE: 'A01',
  DTEUPD: t('1'),
  ...over,
});
const policy = (no: string, over: Record<string, string | number | null> = {}) => ({
  CHDRNUM: no,
  CNTTYPE: 'WL1',
  STATCODE: 'IF',
  OCCDATE: 20240115,
  PTDATE: 20270115,
  SINSTAMT: '500000.00',
  INSTPREM: '12000.00',
  BILLFREQ: '01',
  SRCEBUS: 'AG',
  AGNTNUM: 'AG001',
  DTEUPD: t('1'),
  ...over,
});
const role = (chdr: string, clnt: string, r: string, over: Record<string, string | number | null> = {}) => ({
  CHDRNUM: chdr,
  CLNTNUM: clnt,
  CLRRROLE: r,
  BNYSEQ: null,
  BNYPC: null,
  VALIDFLAG: '1',
  DTEUPD: t('1'),
  ...over,
});
const cover = (chdr: string, rider: string, over: Record<string, string | number | null> = {}) => ({
  CHDRNUM: chdr,
  COVERAGE: '01',
  RIDER: rider,
  CRTABLE: rider === '00' ? 'WL1M' : 'ADD1',
  SUMINS: rider === '00' ? '500000.00' : '100000.00',
  INSTPREM: rider === '00' ? '11000.00' : '1000.00',
  STATCODE: 'IF',
  DTEUPD: t('1'),
  ...over,
});

const customer360 = `query($phone: String!) {
  searchCustomers(query: { phone: $phone }) {
    edges { node {
      id status displayName birthDate sex version
      identifiers { type value valid issues source { system sourceId } }
      contactPoints { kind value valid source { sourceId } }
      sourceRecords { system sourceId linkType deleted matchExplanation { decision probability comparisons { comparison level weight } } }
      lineage { attribute source { sourceId } }
      policies(first: 10) { totalCount edges { node { policyNo status sumInsured covers { rider isMainCover productCode }
        participants { role clientSourceId beneficiaryOrder sharePercent customer { id } } } roles { role } } }
    } }
  }
}`;

describe('core-policy connector on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let token: string;
  const prefix = `t${randomBytes(3).toString('hex')}.`;
  let brokers: string[];

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    const kafka = createKafka(brokers, 'test-producer');
    await ensureTopics(
      kafka,
      Object.values(corePolicyTopics).map((tp) => prefix + tp),
    );
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    token = await tokenFor(hub, 'DATA_STEWARD');
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  const send = (events: CoreEvent[]) =>
    publish(
      createKafka(brokers, 'test-producer'),
      events.map((e) => ({ ...e, topic: prefix + e.topic })),
    );

  it('applies snapshot, updates, deletes, early roles and quarantines a malformed message', async () => {
    // 1. A role arrives before its policy and its client.
    await send([coreEvent('role', 'r', role('P0000001', 'C0000001', 'OW'))]);
    // 2. Snapshot: the client, two policies, covers and roles; a second client number of the same person
    //    (same valid resident id) and a beneficiary.
    await send([
      coreEvent('client', 'r', client('C0000001', {})),
      coreEvent(
        'client',
        'r',
        client('C0000002', { SURNAME: '王', GIVNAME: '曉明', MOBILE: '+86 139 0013 9000', DTEUPD: t('2') }),
      ),
      coreEvent(
        'client',
        'r',
        client('C0000003', {
          SURNAME: '李',
          GIVNAME: '娜',
          CLTSEX: 'F',
          CLTDOB: 19900101,
          IDNO: residentId('310104', '19900101', '222'),
          MOBILE: '13700137000',
          PHONE: null,
          EMAIL: null,
        }),
      ),
      coreEvent(
        'client',
        'r',
        client('C0000004', {
          SURNAME: '赵',
          GIVNAME: '四',
          IDNO: residentId('310104', '19700101', '111'),
          MOBILE: '13600136000',
        }),
      ),
    ]);
    await send([
      coreEvent('policy', 'r', policy('P0000001')),
      coreEvent('policy', 'r', policy('P0000002', { CNTTYPE: 'CI2' })),
    ]);
    await send([
      coreEvent('cover', 'r', cover('P0000001', '00')),
      coreEvent('cover', 'r', cover('P0000001', '01')),
      coreEvent('role', 'r', role('P0000001', 'C0000001', 'LF')),
      coreEvent('role', 'r', role('P0000001', 'C0000003', 'BN', { BNYSEQ: 1, BNYPC: '100.00' })),
      coreEvent('role', 'r', role('P0000002', 'C0000002', 'OW')),
    ]);
    // 3. Changes: the policy lapses; an older (stale) version of the policy arrives late and must be ignored;
    //    policy 2 is deleted (delete + tombstone); client 4 is deleted; a malformed message on the client topic.
    await send([
      coreEvent('policy', 'u', policy('P0000001', { STATCODE: 'LA', DTEUPD: t('5') }), { before: policy('P0000001') }),
    ]);
    await send([coreEvent('policy', 'u', policy('P0000001', { STATCODE: 'RI', DTEUPD: t('3') }))]);
    await send([
      ...deleteWithTombstone('policy', policy('P0000002', { DTEUPD: t('2') }), Date.parse('2026-11-06T09:00:00+08:00')),
    ]);
    await send([
      ...deleteWithTombstone(
        'client',
        client('C0000004', { IDNO: residentId('310104', '19700101', '111') }),
        Date.parse('2026-11-06T09:00:00+08:00'),
      ),
    ]);
    await send([
      {
        topic: corePolicyTopics.client,
        key: '{"payload":{"CLNTNUM":"C0000099"},"schema":{}}',
        value: '{"payload": {"op": "c", "after": {"CLNTNUM": "C0000099"',
      },
    ]);
    await send([
      coreEvent(
        'client',
        'u',
        client('C0000001', { MOBILE: '13800138000', EMAIL: 'wang.xm@example.cn', DTEUPD: t('4') }),
      ),
    ]);

    // Phone in international format finds the national number.
    await eventually(
      async () => {
        const r = await gql(hub.url, token, customer360, { phone: '+86 138 0013 8000' });
        const node = r.data?.searchCustomers.edges[0]?.node;
        // Partitions are consumed independently: wait until every partition's effects are visible.
        const done =
          node &&
          node.policies.totalCount === 1 &&
          node.policies.edges[0]?.node.status === 'LA' &&
          node.policies.edges[0]?.node.covers.length === 2 &&
          node.policies.edges[0]?.node.participants.length === 3 &&
          node.sourceRecords.length === 2 &&
          node.contactPoints.some((c: any) => c.value === 'wang.xm@example.cn');
        return done ? r : undefined;
      },
      60_000,
      'customer 360 to reflect all events',
    );
    // Asserted on a fresh read: the request that saw the last effects may have read the golden record a moment
    // before the transaction that also recomputed it committed (a request's statements are not one snapshot).
    const result = await gql(hub.url, token, customer360, { phone: '+86 138 0013 8000' });

    expect(result.errors).toBeUndefined();
    const edges = result.data.searchCustomers.edges;
    expect(edges).toHaveLength(1);
    const wang = edges[0].node;
    expect(wang.status).toBe('ACTIVE');
    // Both client numbers link to one golden record on the exact valid resident id.
    // Which of the two started the golden record depends on partition interleaving: one is NEW, the other was
    // linked by the matcher on the same valid id; 曉明 and 小明 are different characters but the same pinyin
    // (xiaoming), which counts as a compatible name for the exact-id rule.
    // C0000004 shares Wang's landline, email, address and birth date but has another valid resident id: a
    // different person (hard non-match rule), not merged.
    expect(wang.sourceRecords.map((s: any) => s.sourceId).sort()).toEqual(['C0000001', 'C0000002']);
    expect(wang.sourceRecords.map((s: any) => s.linkType).sort()).toEqual(['EXACT_ID', 'NEW']);
    const linked = wang.sourceRecords.find((s: any) => s.linkType === 'EXACT_ID');
    expect(linked.matchExplanation.decision).toBe('MATCH');
    expect(linked.matchExplanation.comparisons.find((c: any) => c.comparison === 'idNumber').level).toBe('exact');
    expect(linked.matchExplanation.comparisons.find((c: any) => c.comparison === 'givenName').level).toBe(
      'same pinyin',
    );
    expect(
      wang.identifiers.filter((i: any) => i.type === 'RESIDENT_ID').every((i: any) => i.value === wangId && i.valid),
    ).toBe(true);
    expect(wang.birthDate).toBe('1985-03-07');
    // Survivorship: the most recent source (C0000001 updated on day 4) supplies the name.
    expect(wang.displayName).toBe('王小明');
    expect(wang.lineage.find((l: any) => l.attribute === 'displayName').source.sourceId).toBe('C0000001');
    // Union of contact points with origin; the update replaced C0000001's email.
    expect(
      wang.contactPoints
        .filter((c: any) => c.kind === 'EMAIL')
        .map((c: any) => c.value)
        .sort(),
    ).toEqual(['wang.xm@example.cn', 'wxm@example.cn']);
    expect(wang.contactPoints.find((c: any) => c.kind === 'MOBILE' && c.source.sourceId === 'C0000002').value).toBe(
      '+86 139 0013 9000',
    );

    // Policy 2 was deleted; policy 1 lapsed (the late stale "RI" did not overwrite it); the early role linked up.
    expect(wang.policies.totalCount).toBe(1);
    const p1 = wang.policies.edges[0];
    expect(p1.node.policyNo).toBe('P0000001');
    expect(p1.node.status).toBe('LA');
    expect(p1.node.sumInsured).toBe('500000.00');
    expect(p1.roles.map((r: any) => r.role).sort()).toEqual(['INSURED', 'POLICYHOLDER']);
    expect(p1.node.covers.map((c: any) => [c.rider, c.isMainCover])).toEqual([
      ['00', true],
      ['01', false],
    ]);
    const beneficiary = p1.node.participants.find((p: any) => p.role === 'BENEFICIARY');
    expect(beneficiary).toMatchObject({ clientSourceId: 'C0000003', beneficiaryOrder: 1, sharePercent: '100.00' });
    expect(beneficiary.customer).not.toBeNull();

    // The deleted client's golden record is inactive and no longer found by search.
    // (Other partitions may still be catching up: wait for the delete rather than assume it has been applied.)
    const zhao = await eventually(
      async () => {
        const r = await gql(
          hub.url,
          token,
          `{ customerBySource(system: "core-policy", sourceId: "C0000004") { id } searchCustomers(query: {phone: "13600136000"}) { edges { node { id } } } }`,
        );
        return r.data?.customerBySource === null ? r : undefined;
      },
      60_000,
      'the deleted client to disappear',
    );
    expect(zhao.data.customerBySource).toBeNull();
    expect(zhao.data.searchCustomers.edges).toHaveLength(0);

    // The malformed message is quarantined with its position and reason; the rest of the stream was applied.
    const admin = await tokenFor(hub, 'INTEGRATION_ADMIN');
    const q = await eventually(
      async () => {
        const r = await gql(
          hub.url,
          admin,
          `{ quarantinedEvents { edges { node { connector topic partition offset errorCode reason } } } }`,
        );
        return r.data?.quarantinedEvents.edges.length > 0 ? r : undefined;
      },
      60_000,
      'the malformed message to be quarantined',
    );
    expect(q.errors).toBeUndefined();
    expect(q.data.quarantinedEvents.edges).toHaveLength(1);
    expect(q.data.quarantinedEvents.edges[0].node).toMatchObject({
      connector: 'core-policy',
      topic: `${prefix}corepol.LIFEDB.CLIENT`,
      errorCode: 'UNPARSEABLE',
    });
    expect(q.data.quarantinedEvents.edges[0].node.reason).toMatch(/not valid JSON/);
  });
});
