import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Contact points that different people legitimately share must not merge them (issue 18): a child whose core
 * record carries a parent's mobile, a spouse giving the partner's mobile, an agent's own mobile typed into
 * several leads, a company switchboard on its employees' records, a number recycled to a new subscriber. Each
 * stays its own golden record, streamed through a real broker; the same person arriving from two sources with
 * one mobile and agreeing name and birth date still links (the control).
 */
const ts = dteupd('2026-11-01T00:00:00Z');
const client = (no: string, over: Record<string, string | number | null>) =>
  coreEvent('client', 'r', {
    CLNTNUM: no,
    CLTTYPE: 'P',
    SURNAME: '陈',
    GIVNAME: '建华',
    CLTSEX: 'M',
    CLTDOB: 19750101,
    IDTYPE: null,
    IDNO: null,
    MOBILE: null,
    PHONE: null,
    EMAIL: null,
    ADDR1: '浙江省杭州市拱墅区湖墅南路8号2幢301室',
    ADDR2: null,
    ADDR3: null,
    POSTCODE: '310005',
    OCCPCODE: null,
    DTEUPD: ts,
    ...over,
  });
const lead = (id: string, name: string, gender: string, birthDate: string, mobile: string) => ({
  topic: 'agency.leads.v1',
  key: id,
  value: JSON.stringify({
    leadId: id,
    createdAt: '2026-11-02T10:00:00+08:00',
    updatedAt: '2026-11-02T10:00:00+08:00',
    agentCode: 'AG77',
    name,
    gender,
    birthDate,
    mobile,
    city: '杭州',
    source: 'EVENT',
    referredByClientNo: null,
    interests: ['ANNUITY'],
    status: 'NEW',
    convertedPolicyNo: null,
  }),
});
const appUser = (id: string, name: string, mobile: string) => ({
  topic: 'app.customer-events.v1',
  key: id,
  value: JSON.stringify({
    eventId: `E-${id}`,
    type: 'REGISTERED',
    at: '2026-11-03T12:00:00+08:00',
    userId: id,
    mobile,
    email: null,
    name,
    idNumber: null,
    consent: null,
  }),
});
const parentMobile = '13957100001';
const husbandMobile = '13957100002';
const agentMobile = '13957100003';
const recycled = '13957100004';
const messages = [
  // a parent and a child whose record carries the parent's mobile (same surname, same address)
  client('C1000001', {
    GIVNAME: '建华',
    CLTDOB: 19750101,
    MOBILE: parentMobile,
    IDTYPE: '01',
    IDNO: residentId('330105', '19750101', '011'),
  }),
  client('C1000002', { GIVNAME: '子涵', CLTSEX: 'F', CLTDOB: 20120606, MOBILE: parentMobile }),
  // spouses: the wife gives her husband's mobile
  client('C1000003', {
    SURNAME: '周',
    GIVNAME: '海涛',
    CLTDOB: 19800303,
    MOBILE: husbandMobile,
    ADDR1: '杭州市滨江区江南大道1号',
  }),
  client('C1000004', {
    SURNAME: '吴',
    GIVNAME: '雅琴',
    CLTSEX: 'F',
    CLTDOB: 19820404,
    MOBILE: husbandMobile,
    ADDR1: '杭州市滨江区江南大道1号',
  }),
  // a company switchboard on three employees' records
  ...[
    ['C1000005', '郑', '晓东', 'M', 19880808],
    ['C1000006', '冯', '丽娟', 'F', 19910909],
    ['C1000007', '陈', '志强', 'M', 19850505],
  ].map(([no, s, g, sex, dob]) =>
    client(no as string, {
      SURNAME: s as string,
      GIVNAME: g as string,
      CLTSEX: sex as string,
      CLTDOB: dob as number,
      PHONE: '0571-88776655',
      ADDR1: `杭州市西湖区文一路${String(dob).slice(-2)}号`,
    }),
  ),
  // a number recycled: an old subscriber in the core system
  client('C1000008', {
    SURNAME: '孙',
    GIVNAME: '桂兰',
    CLTSEX: 'F',
    CLTDOB: 19440202,
    MOBILE: recycled,
    ADDR1: '杭州市上城区清河坊1号',
  }),
  // an agent's own mobile on three leads
  lead('L1000001', '黄 磊', 'M', '1990-01-15', agentMobile),
  lead('L1000002', '林 静', 'F', '1986-07-20', agentMobile),
  lead('L1000003', '何 伟', 'M', '1979-11-30', agentMobile),
  // the new subscriber of the recycled number registers in the app
  {
    topic: 'app.customer-events.v1',
    key: 'U1000001',
    value: JSON.stringify({
      eventId: 'E1000001',
      type: 'REAL_NAME_VERIFIED',
      at: '2026-11-03T12:00:00+08:00',
      userId: 'U1000001',
      mobile: recycled,
      email: null,
      name: '马骁',
      idNumber: residentId('330106', '19990909', '031'),
      consent: null,
    }),
  },
  // partial records: app users known only by name and mobile
  client('C1000010', {
    SURNAME: '许',
    GIVNAME: '文博',
    CLTDOB: 19830808,
    MOBILE: '13957100010',
    ADDR1: '杭州市余杭区文一西路9号',
  }),
  appUser('U1000010', '许文博', '13957100010'), // the phone is one customer's: links
  appUser('U1000011', '周海涛', husbandMobile), // the phone is two customers': a possible match only
  // the control: the parent again, as an agent's lead with his own mobile, name and birth date
  lead('L1000009', '陈 建华', 'M', '1975-01-01', parentMobile),
];

describe('shared contact points on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const prefix = `sc${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    const brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test-producer'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    await publishAndWait(brokers, prefix, db.url, messages);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('keeps people who share a phone apart, and still links one person across sources', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ system: string; source_id: string; party_id: string }>(
        `select system, source_id, party_id::text from source_record order by system, source_id`,
      );
      const quarantined = await c.query(`select error_code, reason from quarantined_event`);
      expect(quarantined.rows).toEqual([]);
      const party = (id: string) => rows.find((r) => r.source_id === id || r.source_id.endsWith(id))?.party_id;
      const apart = (...ids: string[]) => expect(new Set(ids.map(party)).size).toBe(ids.length);
      apart('C1000001', 'C1000002'); // parent, child on the parent's mobile
      apart('C1000003', 'C1000004'); // spouses on one mobile
      apart('C1000005', 'C1000006', 'C1000007'); // a switchboard
      apart('L1000001', 'L1000002', 'L1000003'); // an agent's mobile on leads
      apart('C1000008', 'U1000001'); // a recycled number
      // the control: the parent as a lead
      expect(party('L1000009')).toBe(party('C1000001'));
      // a partial record links when one golden record holds its phone
      expect(party('U1000010')).toBe(party('C1000010'));
      // and is a possible match, shown apart on the customer, when several do
      expect(party('U1000011')).not.toBe(party('C1000003'));
      const token = await tokenFor(hub, 'DATA_STEWARD');
      const husband = await gql(
        hub.url,
        token,
        `query($id: ID!) { customer(id: $id) { sourceRecords { sourceId } possibleMatches { sourceRecord { sourceId } explanation { decision note } } } }`,
        { id: party('C1000003') },
      );
      expect(husband.errors).toBeUndefined();
      expect(husband.data.customer.sourceRecords.map((r: any) => r.sourceId)).toEqual(['C1000003']);
      expect(husband.data.customer.possibleMatches).toEqual([
        {
          sourceRecord: { sourceId: 'U1000011' },
          explanation: { decision: 'POSSIBLE_MATCH', note: expect.stringContaining('2 golden records hold its phone') },
        },
      ]);
      // every record its own golden record except the control and the linked app user
      expect(new Set(rows.map((r) => r.party_id)).size).toBe(rows.length - 2);
    } finally {
      await c.end();
    }
  });
});
