import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { randomBytes } from 'node:crypto';
import type { BatchInputMessage } from '../../src/ingest/batch-source.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { shanghaiNoonDaysAgo } from '../support/dates.ts';

/**
 * Every alert rule crossed by one customer's claims, payments, policies and contact data, published to the
 * real broker and applied by the running hub (connectors, sync step, risk) on a real database: exactly one alert per rule, and more evidence updates the
 * alerts instead of adding new ones.
 */
const DAY = 86_400_000;
const id = residentId('330106', '19750505', '777');
const now = Date.now();
const days = (n: number) => Math.floor((now - n * DAY) / DAY);

function claim(n: number, policyNo: string, incidentDaysAgo: number, paid: string): BatchInputMessage {
  const row = {
    claim_id: `RC${n}`,
    claim_no: `CLM-RC${n}`,
    policy_no: policyNo,
    claimant_name: '吴刚',
    claimant_id_type: '01',
    claimant_id_no: id,
    claimant_phone: '13912345678',
    incident_date: days(incidentDaysAgo),
    reported_at: (now - (incidentDaysAgo - 2) * DAY) * 1000,
    cause_code: 'ACC',
    claimed_amount: paid,
    paid_amount: paid,
    status: 'PAID',
    payee_bank_account: null,
    updated_at: (now - (incidentDaysAgo - 3) * DAY) * 1000,
  };
  return {
    topic: 'claims.public.claim',
    key: JSON.stringify({ claim_id: row.claim_id }),
    value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }),
  };
}
const premium = (n: number, amount: string): BatchInputMessage => ({
  topic: 'billing.payments.v1',
  key: `RP${n}`,
  value: JSON.stringify({
    eventId: `RPE${n}`,
    eventType: 'PREMIUM_PAID',
    occurredAt: new Date(now - 100 * DAY).toISOString(),
    paymentId: `RP${n}`,
    policyNo: 'RCP00001',
    payer: { name: '吴刚', idType: '01', idNumber: id, mobile: '13912345678' },
    amount,
    currency: 'CNY',
    method: 'BANK_DEBIT',
    status: 'SUCCESS',
  }),
});
/** A premium paid by someone else from the given bank account. */
const premiumFrom = (n: number, payer: { name: string; idNumber: string }, accountNo: string): BatchInputMessage => ({
  topic: 'billing.payments.v1',
  key: `RB${n}`,
  value: JSON.stringify({
    eventId: `RBE${n}`,
    eventType: 'PREMIUM_PAID',
    occurredAt: new Date(now - 50 * DAY).toISOString(),
    paymentId: `RB${n}`,
    policyNo: `RBP${n}`,
    payer: { ...payer, idType: '01', mobile: null },
    amount: '800.00',
    currency: 'CNY',
    method: 'BANK_DEBIT',
    bankAccount: { bankCode: 'CCB', accountNo },
    status: 'SUCCESS',
  }),
});
const ymd = (ms: number) => Number(new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));

describe('alert rules', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `rules${randomBytes(3).toString('hex')}.`;
  const apply = (m: BatchInputMessage[]) => publishAndWait(brokers, prefix, db.url, m);

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    await setAlertHolds(db.url, 0);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('raises exactly one alert per rule and updates them as evidence grows', async () => {
    const at = dteupd(new Date(now - 400 * DAY).toISOString());
    const clientRows: Record<string, Record<string, unknown>> = {
      W0000001: {
        CLTTYPE: 'P',
        SURNAME: '吴',
        GIVNAME: '刚',
        CLTSEX: 'M',
        CLTDOB: 19750505,
        IDTYPE: '01',
        IDNO: id,
        MOBILE: '13912345678',
      },
      // two other customers share the phone (a broker's number, a family …)
      W0000002: {
        CLTTYPE: 'P',
        SURNAME: '郑',
        GIVNAME: '和',
        CLTSEX: 'M',
        CLTDOB: 19600101,
        IDTYPE: '01',
        IDNO: residentId('330106', '19600101', '111'),
        MOBILE: '13912345678',
      },
      W0000003: {
        CLTTYPE: 'P',
        SURNAME: '冯',
        GIVNAME: '英',
        CLTSEX: 'F',
        CLTDOB: 19650101,
        IDTYPE: '01',
        IDNO: residentId('330106', '19650101', '222'),
        MOBILE: '13912345678',
      },
    };
    await apply([
      ...Object.entries(clientRows).map(([no, row]) => coreEvent('client', 'r', { CLNTNUM: no, ...row, DTEUPD: at })),
      coreEvent('policy', 'r', {
        CHDRNUM: 'RCP00001',
        CNTTYPE: 'ACC',
        STATCODE: 'IF',
        OCCDATE: ymd(now - 400 * DAY),
        SINSTAMT: '300000.00',
        INSTPREM: '5000.00',
        DTEUPD: at,
      }),
      coreEvent('policy', 'r', {
        CHDRNUM: 'RCP00002',
        CNTTYPE: 'ACC',
        STATCODE: 'IF',
        OCCDATE: ymd(now - 100 * DAY),
        SINSTAMT: '300000.00',
        INSTPREM: '5000.00',
        DTEUPD: at,
      }),
      premium(1, '5000.00'),
      premium(2, '5000.00'),
      // the same address (written with and without spaces, one in traditional characters) for four customers
      ...['W0000001', 'W0000002', 'W0000003'].map((no) =>
        coreEvent('client', 'u', {
          CLNTNUM: no,
          ...clientRows[no],
          ADDR1: '浙江省杭州市西湖区',
          ADDR2: '文三路 100号 3幢502室',
          POSTCODE: '310012',
          DTEUPD: at + 1,
        }),
      ),
      coreEvent('client', 'r', {
        CLNTNUM: 'W0000004',
        CLTTYPE: 'P',
        SURNAME: '陈',
        GIVNAME: '立',
        CLTSEX: 'M',
        CLTDOB: 19700101,
        IDTYPE: '01',
        IDNO: residentId('330106', '19700101', '333'),
        MOBILE: '13711112222',
        ADDR1: '浙江省杭州市西湖區',
        ADDR2: '文三路100号3幢502室',
        DTEUPD: at,
      }),
      // one bank account debited for three customers' premiums
      {
        ...premium(3, '1000.00'),
        value: JSON.stringify({
          ...JSON.parse(premium(3, '1000.00').value as string),
          bankAccount: { bankCode: 'CCB', accountNo: '6217 0000 1111 2222' },
        }),
      },
      premiumFrom(1, { name: '郑和', idNumber: residentId('330106', '19600101', '111') }, '6217000011112222'),
      premiumFrom(2, { name: '陈立', idNumber: residentId('330106', '19700101', '333') }, '6217-0000-1111-2222'),
    ]);
    // Three paid claims within a year; two of them for the same incident on two policies; one 40 days after
    // the second policy commenced.
    await apply([
      claim(1, 'RCP00001', 200, '30000.00'),
      claim(2, 'RCP00001', 60, '40000.00'),
      claim(3, 'RCP00002', 60, '40000.00'),
    ]);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const alerts = async () =>
        (
          await c.query(
            `select rule_code, status, evidence from alert a join source_record sr on sr.party_id = a.party_id where sr.source_id = 'W0000001' order by rule_code`,
          )
        ).rows;
      const first = await alerts();
      expect(first.map((a) => a.rule_code)).toEqual([
        'CLAIMS_IN_WINDOW',
        'CUMULATIVE_PAID',
        'EARLY_CLAIM',
        'LOSS_RATIO',
        'MULTI_POLICY_INCIDENT',
        'SHARED_ADDRESS',
        'SHARED_BANK_ACCOUNT',
        'SHARED_CONTACT',
      ]);
      expect(first.find((a) => a.rule_code === 'LOSS_RATIO').evidence).toMatchObject({
        paid: '110000.00',
        premiums: '11000.00',
        ratio: 10,
      });
      expect(first.find((a) => a.rule_code === 'SHARED_ADDRESS').evidence.addresses).toMatchObject([
        { key: '浙江省杭州市西湖区文三路100号3幢502室', customers: 4, holders: 4 },
      ]);
      expect(first.find((a) => a.rule_code === 'SHARED_BANK_ACCOUNT').evidence.bankAccounts).toMatchObject([
        { key: '6217000011112222', customers: 3, holders: 3 },
      ]);
      // Everyone in the network is flagged, not only the customer whose change crossed the threshold.
      const network = await c.query(
        `select sr.source_id, array_agg(a.rule_code order by a.rule_code) as rules from alert a join source_record sr on sr.party_id = a.party_id
          where sr.source_id in ('W0000002', 'W0000003', 'W0000004') and a.rule_code like 'SHARED_%' group by sr.source_id order by sr.source_id`,
      );
      expect(network.rows).toEqual([
        { source_id: 'W0000002', rules: ['SHARED_ADDRESS', 'SHARED_BANK_ACCOUNT', 'SHARED_CONTACT'] },
        { source_id: 'W0000003', rules: ['SHARED_ADDRESS', 'SHARED_CONTACT'] },
        { source_id: 'W0000004', rules: ['SHARED_ADDRESS', 'SHARED_BANK_ACCOUNT'] },
      ]);
      expect(first.find((a) => a.rule_code === 'MULTI_POLICY_INCIDENT').evidence.incidents[0].policies).toEqual([
        'RCP00001',
        'RCP00002',
      ]);
      expect(first.find((a) => a.rule_code === 'SHARED_CONTACT').evidence.phones).toMatchObject([
        { key: '13912345678', customers: 3, holders: 3 },
      ]);

      await apply([claim(4, 'RCP00001', 10, '20000.00')]);
      const after = await alerts();
      expect(after.map((a) => a.rule_code)).toEqual(first.map((a) => a.rule_code));
      expect(after.find((a) => a.rule_code === 'CLAIMS_IN_WINDOW').evidence.claims).toEqual([
        'RC1',
        'RC2',
        'RC3',
        'RC4',
      ]);
      expect(after.find((a) => a.rule_code === 'CUMULATIVE_PAID').evidence.paid).toBe('130000.00');
      // and the outbox holds one event per opening or update
      const outbox = await c.query(
        `select payload->>'event' as event, payload->>'rule' as rule from outbox order by created_at`,
      );
      expect(outbox.rows.filter((r) => r.rule === 'CLAIMS_IN_WINDOW').map((r) => r.event)).toEqual([
        'ALERT_OPENED',
        'ALERT_UPDATED',
      ]);

      // W0000003 gets a phone of its own: two customers left on the number dissolve the network, and every
      // member's phone alert is closed by the system with the reason — not left stating "3 customers".
      await apply([
        coreEvent('client', 'u', {
          CLNTNUM: 'W0000003',
          ...clientRows.W0000003,
          MOBILE: '13500009999',
          ADDR1: '浙江省杭州市西湖区',
          ADDR2: '文三路 100号 3幢502室',
          POSTCODE: '310012',
          DTEUPD: at + 2,
        }),
      ]);
      const phoneAlerts = await c.query(
        `select sr.source_id, a.status, a.closed_reason from alert a join source_record sr on sr.party_id = a.party_id
          where sr.system = 'core-policy' and a.rule_code = 'SHARED_CONTACT' order by sr.source_id`,
      );
      expect(phoneAlerts.rows).toEqual(
        ['W0000001', 'W0000002', 'W0000003'].map((source_id) => ({
          source_id,
          status: 'CLOSED',
          closed_reason: 'CONDITION_NO_LONGER_MET',
        })),
      );
      const closed = await c.query(
        `select count(*)::int as n from outbox where payload->>'event' = 'ALERT_CLOSED' and payload->>'rule' = 'SHARED_CONTACT'`,
      );
      expect(closed.rows[0].n).toBe(3);
    } finally {
      await c.end();
    }
  });

  it('does not count neighbours at an address written to the building only as a network', async () => {
    // Four unrelated customers (four family names, no shared phone) at 文三路200号, no flat: residents of one
    // building. Written to the flat, the same four are a shared address (the test above).
    const at = dteupd(new Date(now - 400 * DAY).toISOString());
    const neighbours = (addr2: string, version: number) =>
      ['赵', '钱', '孙', '李'].map((surname, i) =>
        coreEvent('client', version === 0 ? 'r' : 'u', {
          CLNTNUM: `W000002${i}`,
          CLTTYPE: 'P',
          SURNAME: surname,
          GIVNAME: '邻',
          CLTSEX: 'M',
          CLTDOB: 19750101 + i,
          IDTYPE: '01',
          IDNO: residentId('330106', `1975010${i + 1}`, '777'),
          MOBILE: `1370000${2000 + i}`,
          ADDR1: '浙江省杭州市西湖区',
          ADDR2: addr2,
          DTEUPD: at + version,
        }),
      );
    await apply(neighbours('文三路200号', 0));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const flagged = async () =>
        (
          await c.query(
            `select count(*)::int as n from (
               select a.party_id from alert a where a.rule_code = 'SHARED_ADDRESS' and a.status <> 'CLOSED'
               union select p.party_id from alert_pending p where p.rule_code = 'SHARED_ADDRESS') f
              join source_record sr on sr.party_id = f.party_id where sr.source_id like 'W000002%'`,
          )
        ).rows[0].n;
      expect(await flagged()).toBe(0);
      await apply(neighbours('文三路200号5幢101室', 1));
      expect(await flagged()).toBe(4);
    } finally {
      await c.end();
    }
  });

  it('catches a claim soon after a sum-insured increase when only the policy changes', async () => {
    const other = residentId('330106', '19800808', '555');
    const longAgo = dteupd(new Date(now - 500 * DAY).toISOString());
    await apply([
      coreEvent('client', 'r', {
        CLNTNUM: 'W0000010',
        CLTTYPE: 'P',
        SURNAME: '钱',
        GIVNAME: '多',
        CLTSEX: 'M',
        CLTDOB: 19800808,
        IDTYPE: '01',
        IDNO: other,
        MOBILE: '13600001111',
        DTEUPD: longAgo,
      }),
      coreEvent('policy', 'r', {
        CHDRNUM: 'RCP00010',
        CNTTYPE: 'CI2',
        STATCODE: 'IF',
        OCCDATE: ymd(now - 500 * DAY),
        SINSTAMT: '100000.00',
        INSTPREM: '3000.00',
        DTEUPD: longAgo,
      }),
    ]);
    const row = {
      claim_id: 'RC10',
      claim_no: 'CLM-RC10',
      policy_no: 'RCP00010',
      claimant_name: '钱多',
      claimant_id_type: '01',
      claimant_id_no: other,
      claimant_phone: '13600001111',
      incident_date: days(10),
      reported_at: (now - 8 * DAY) * 1000,
      cause_code: 'CI',
      claimed_amount: '500000.00',
      paid_amount: '0.00',
      status: 'REPORTED',
      payee_bank_account: null,
      updated_at: (now - 8 * DAY) * 1000,
    };
    await apply([
      {
        topic: 'claims.public.claim',
        key: JSON.stringify({ claim_id: 'RC10' }),
        value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }),
      },
    ]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const early = async () =>
        (
          await c.query(
            `select evidence from alert a join source_record sr on sr.party_id = a.party_id where sr.source_id = 'W0000010' and a.rule_code = 'EARLY_CLAIM'`,
          )
        ).rows;
      expect(await early()).toEqual([]); // 490 days after commencement: nothing yet
      // The core system reports (late) that the sum insured was raised 20 days ago: the policy change alone
      // re-evaluates the claimant, and the claim 10 days later is early.
      await apply([
        coreEvent('policy', 'u', {
          CHDRNUM: 'RCP00010',
          CNTTYPE: 'CI2',
          STATCODE: 'IF',
          OCCDATE: ymd(now - 500 * DAY),
          SINSTAMT: '500000.00',
          INSTPREM: '9000.00',
          DTEUPD: dteupd(new Date(shanghaiNoonDaysAgo(20, now)).toISOString()),
        }),
      ]);
      const [alert] = await early();
      expect(alert?.evidence.early).toEqual([
        expect.objectContaining({ claim: 'RC10', policy: 'RCP00010', basis: 'SUM_INSURED_INCREASE', days: 10 }),
      ]);
    } finally {
      await c.end();
    }
  });
});
