import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch, type BatchInputMessage } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { syncDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';

/**
 * Every alert rule crossed by one customer's claims, payments, policies and contact data, applied through the
 * connectors and the sync step on a real database: exactly one alert per rule, and more evidence updates the
 * alerts instead of adding new ones.
 */
const DAY = 86_400_000;
const id = residentId('330106', '19750505', '777');
const now = Date.now();
const days = (n: number) => Math.floor((now - n * DAY) / DAY);

function claim(n: number, policyNo: string, incidentDaysAgo: number, paid: string): BatchInputMessage {
  const row = { claim_id: `RC${n}`, claim_no: `CLM-RC${n}`, policy_no: policyNo, claimant_name: '吴刚', claimant_id_type: '01', claimant_id_no: id, claimant_phone: '13912345678', incident_date: days(incidentDaysAgo), reported_at: (now - (incidentDaysAgo - 2) * DAY) * 1000, cause_code: 'ACC', claimed_amount: paid, paid_amount: paid, status: 'PAID', payee_bank_account: null, updated_at: (now - (incidentDaysAgo - 3) * DAY) * 1000 };
  return { topic: 'claims.public.claim', key: JSON.stringify({ claim_id: row.claim_id }), value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }) };
}
const premium = (n: number, amount: string): BatchInputMessage => ({
  topic: 'billing.payments.v1', key: `RP${n}`,
  value: JSON.stringify({ eventId: `RPE${n}`, eventType: 'PREMIUM_PAID', occurredAt: new Date(now - 100 * DAY).toISOString(), paymentId: `RP${n}`, policyNo: 'RCP00001', payer: { name: '吴刚', idType: '01', idNumber: id, mobile: '13912345678' }, amount, currency: 'CNY', method: 'BANK_DEBIT', status: 'SUCCESS' }),
});
const ymd = (ms: number) => Number(new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));

describe('alert rules', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let stream = 0;
  const router = new TopicRouter(connectors);
  const apply = (m: BatchInputMessage[]) => ingestBatch(hub.orm, router, `rules${(stream += 1)}`, m, syncDeps);

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('raises exactly one alert per rule and updates them as evidence grows', async () => {
    const at = dteupd(new Date(now - 400 * DAY).toISOString());
    await apply([
      coreEvent('client', 'r', { CLNTNUM: 'W0000001', CLTTYPE: 'P', SURNAME: '吴', GIVNAME: '刚', CLTSEX: 'M', CLTDOB: 19750505, IDTYPE: '01', IDNO: id, MOBILE: '13912345678', DTEUPD: at }),
      // two other customers share the phone (a broker's number, a family …)
      coreEvent('client', 'r', { CLNTNUM: 'W0000002', CLTTYPE: 'P', SURNAME: '郑', GIVNAME: '和', CLTSEX: 'M', CLTDOB: 19600101, IDTYPE: '01', IDNO: residentId('330106', '19600101', '111'), MOBILE: '13912345678', DTEUPD: at }),
      coreEvent('client', 'r', { CLNTNUM: 'W0000003', CLTTYPE: 'P', SURNAME: '冯', GIVNAME: '英', CLTSEX: 'F', CLTDOB: 19650101, IDTYPE: '01', IDNO: residentId('330106', '19650101', '222'), MOBILE: '13912345678', DTEUPD: at }),
      coreEvent('policy', 'r', { CHDRNUM: 'RCP00001', CNTTYPE: 'ACC', STATCODE: 'IF', OCCDATE: ymd(now - 400 * DAY), SINSTAMT: '300000.00', INSTPREM: '5000.00', DTEUPD: at }),
      coreEvent('policy', 'r', { CHDRNUM: 'RCP00002', CNTTYPE: 'ACC', STATCODE: 'IF', OCCDATE: ymd(now - 100 * DAY), SINSTAMT: '300000.00', INSTPREM: '5000.00', DTEUPD: at }),
      premium(1, '5000.00'),
      premium(2, '5000.00'),
    ]);
    // Three paid claims within a year; two of them for the same incident on two policies; one 40 days after
    // the second policy commenced.
    await apply([claim(1, 'RCP00001', 200, '30000.00'), claim(2, 'RCP00001', 60, '40000.00'), claim(3, 'RCP00002', 60, '40000.00')]);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const alerts = async () => (await c.query(`select rule_code, status, evidence from alert a join source_record sr on sr.party_id = a.party_id where sr.source_id = 'W0000001' order by rule_code`)).rows;
      const first = await alerts();
      expect(first.map((a) => a.rule_code)).toEqual(['CLAIMS_IN_WINDOW', 'CUMULATIVE_PAID', 'EARLY_CLAIM', 'LOSS_RATIO', 'MULTI_POLICY_INCIDENT', 'SHARED_CONTACT']);
      expect(first.find((a) => a.rule_code === 'LOSS_RATIO').evidence).toMatchObject({ paid: '110000.00', premiums: '10000.00', ratio: 11 });
      expect(first.find((a) => a.rule_code === 'MULTI_POLICY_INCIDENT').evidence.incidents[0].policies).toEqual(['RCP00001', 'RCP00002']);
      expect(first.find((a) => a.rule_code === 'SHARED_CONTACT').evidence.phones).toEqual([{ key: '13912345678', customers: 3 }]);

      await apply([claim(4, 'RCP00001', 10, '20000.00')]);
      const after = await alerts();
      expect(after.map((a) => a.rule_code)).toEqual(first.map((a) => a.rule_code));
      expect(after.find((a) => a.rule_code === 'CLAIMS_IN_WINDOW').evidence.claims).toEqual(['RC1', 'RC2', 'RC3', 'RC4']);
      expect(after.find((a) => a.rule_code === 'CUMULATIVE_PAID').evidence.paid).toBe('130000.00');
      // and the outbox holds one event per opening or update
      const outbox = await c.query(`select payload->>'event' as event, payload->>'rule' as rule from outbox order by created_at`);
      expect(outbox.rows.filter((r) => r.rule === 'CLAIMS_IN_WINDOW').map((r) => r.event)).toEqual(['ALERT_OPENED', 'ALERT_UPDATED']);
    } finally {
      await c.end();
    }
  });
});
