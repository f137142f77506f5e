import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';

/**
 * Source events for the customer programme's tests (tests/integration/programme.kafka.test.ts): core-policy
 * clients, policies and policyholder roles, billing premiums, a claim and contact-centre calls, dated relative to
 * today in China Standard Time.
 */
export const DAY = 86_400_000;
/** A calendar date `n` days from today in China Standard Time. */
export const day = (n: number) => new Date(Date.now() + 8 * 3_600_000 + n * DAY).toISOString().slice(0, 10);
export const yyyymmdd = (iso: string) => Number(iso.replaceAll('-', ''));
export const at = (n: number) => `${day(n)}T10:00:00+08:00`;

export const idA = residentId('330106', '19800101', '011');
export const idB = residentId('330106', '19820202', '022');
export const birthdayC = day(3);
export const idC = residentId('330106', `1975${birthdayC.slice(5).replace('-', '')}`, '031');

export const client = (no: string, over: Record<string, string | number | null>) => ({
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
export const policy = (no: string, over: Record<string, string | number | null>) => ({
  CHDRNUM: no,
  CNTTYPE: 'WL1',
  STATCODE: 'IF',
  OCCDATE: yyyymmdd(day(-10)),
  PTDATE: yyyymmdd(day(20)),
  SINSTAMT: '500000.00',
  INSTPREM: '1000.00',
  BILLFREQ: '12',
  SRCEBUS: 'AG',
  AGNTNUM: 'AG001',
  DTEUPD: dteupd(new Date(Date.now() - 3_600_000).toISOString()),
  ...over,
});
export const holder = (policyNo: string, clientNo: string) =>
  coreEvent('role', 'r', {
    CHDRNUM: policyNo,
    CLNTNUM: clientNo,
    CLRRROLE: 'OW',
    BNYSEQ: null,
    BNYPC: null,
    VALIDFLAG: '1',
    CLTRELN: null,
    DTEUPD: dteupd('2026-11-01T00:00:00Z'),
  });
export const payer = { name: '李明', idType: '01', idNumber: idA, mobile: '13900001111' };
export const payment = (id: string, amount: string, when: string) => ({
  topic: 'billing.payments.v1',
  key: id,
  value: JSON.stringify({
    eventId: `EV-${id}`,
    eventType: 'PREMIUM_PAID',
    occurredAt: when,
    paymentId: id,
    policyNo: 'PA000001',
    payer,
    amount,
    currency: 'CNY',
    method: 'BANK_DEBIT',
    bankAccount: null,
    status: 'SUCCESS',
    failureReason: null,
  }),
});
export const claim = (status: string, paid: string, updatedDaysAgo: number) => {
  const updated = (Date.now() - updatedDaysAgo * DAY) * 1000;
  return {
    topic: 'claims.public.claim',
    key: JSON.stringify({ claim_id: '7f1c2d6e-0000-4000-8000-00000000a001' }),
    value: JSON.stringify({
      before: null,
      after: {
        claim_id: '7f1c2d6e-0000-4000-8000-00000000a001',
        claim_no: 'CLM2026900001',
        policy_no: 'PA000001',
        claimant_name: '李明',
        claimant_id_type: '01',
        claimant_id_no: idA,
        claimant_phone: '13900001111',
        incident_date: Math.floor(Date.now() / DAY) - 20,
        reported_at: (Date.now() - 15 * DAY) * 1000,
        cause_code: 'HOS',
        claimed_amount: '800.00',
        paid_amount: paid,
        status,
        payee_bank_account: null,
        updated_at: updated,
      },
      source: { ts_ms: Math.floor(updated / 1000), db: 'claims', table: 'claim' },
      op: 'u',
      ts_ms: Math.floor(updated / 1000),
    }),
  };
};
export const call = (id: string, over: Record<string, unknown>) => ({
  topic: 'contact.interactions.v1',
  key: id,
  value: JSON.stringify({
    interactionId: id,
    type: 'FOLLOW_UP',
    subtype: null,
    at: new Date().toISOString(),
    callerNumber: null,
    clientNo: null,
    policyNo: null,
    agentId: 'CC001',
    summary: '回访',
    outcome: 'REACHED',
    satisfaction: 5,
    complaint: null,
    ...over,
  }),
});
