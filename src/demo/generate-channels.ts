import { DEMO_CUSTOMER } from './generate-core-policy.ts';
import type { DemoMessage } from './generate-core-policy.ts';

/**
 * Demo traffic of the other source systems around the demo customer, so the customer 360 shows payments,
 * a claim, calls (one found only by the caller's number), a follow-up call, an app registration with a consent,
 * and a lead an agent typed in traditional characters — each through its own connector.
 */
export function generateChannelDemo(): DemoMessage[] {
  const payer = {
    name: DEMO_CUSTOMER.name,
    idType: '01',
    idNumber: DEMO_CUSTOMER.idNumber,
    mobile: DEMO_CUSTOMER.mobile,
  };
  const pay = (id: string, type: string, at: string, status: string, amount: string) => ({
    topic: 'billing.payments.v1',
    key: id,
    value: JSON.stringify({
      eventId: `EV-${id}`,
      eventType: type,
      occurredAt: at,
      paymentId: id,
      policyNo: 'P9000001',
      payer,
      amount,
      currency: 'CNY',
      method: 'BANK_DEBIT',
      bankAccount: { bankCode: 'ICBC', accountNo: '6222021234567890123' },
      status,
      failureReason: status === 'FAILED' ? 'INSUFFICIENT_FUNDS' : null,
    }),
  });
  const claimRow = {
    claim_id: '7f1c2d6e-0000-4000-8000-000000000001',
    claim_no: 'CLM2026000123',
    policy_no: 'P9000001',
    claimant_name: DEMO_CUSTOMER.name,
    claimant_id_type: '01',
    claimant_id_no: DEMO_CUSTOMER.idNumber,
    claimant_phone: DEMO_CUSTOMER.mobile,
    incident_date: 20380,
    reported_at: 1_761_000_000_000_000,
    cause_code: 'HOS',
    claimed_amount: '8600.00',
    paid_amount: '8200.00',
    status: 'PAID',
    payee_bank_account: '6222021234567890123',
    updated_at: 1_761_500_000_000_000,
  };
  const call = (id: string, over: Record<string, unknown>) => ({
    topic: 'contact.interactions.v1',
    key: id,
    value: JSON.stringify({
      interactionId: id,
      subtype: null,
      callerNumber: null,
      clientNo: null,
      policyNo: null,
      agentId: 'CC017',
      outcome: 'RESOLVED',
      satisfaction: null,
      complaint: null,
      ...over,
    }),
  });
  return [
    pay('PAY-2026-0001', 'PREMIUM_PAID', '2026-01-15T09:30:00+08:00', 'SUCCESS', '12000.00'),
    pay('PAY-2026-0002', 'PAYMENT_FAILED', '2026-07-15T09:30:00+08:00', 'FAILED', '1000.00'),
    pay('PAY-2026-0003', 'PAYOUT', '2026-10-28T16:00:00+08:00', 'SUCCESS', '8200.00'),
    {
      topic: 'claims.public.claim',
      key: JSON.stringify({ claim_id: claimRow.claim_id }),
      value: JSON.stringify({
        before: null,
        after: claimRow,
        source: { ts_ms: 1_761_500_000_000, db: 'claims', table: 'claim' },
        op: 'c',
        ts_ms: 1_761_500_000_100,
      }),
    },
    call('CALL-0001', {
      type: 'INBOUND_CALL',
      at: '2026-10-20T10:05:00+08:00',
      callerNumber: '+86 138 0013 8000',
      summary: '咨询住院理赔材料',
      satisfaction: 5,
    }),
    call('CALL-0002', {
      type: 'FOLLOW_UP',
      subtype: 'BENEFIT_PAYMENT',
      at: '2026-10-30T15:00:00+08:00',
      clientNo: DEMO_CUSTOMER.clientNo,
      policyNo: 'P9000001',
      summary: '给付回访',
      outcome: 'REACHED',
      satisfaction: 4,
    }),
    {
      topic: 'app.customer-events.v1',
      key: 'APP-88001',
      value: JSON.stringify({
        eventId: 'W-1',
        type: 'REGISTERED',
        at: '2026-03-01T20:00:00+08:00',
        userId: 'APP-88001',
        mobile: DEMO_CUSTOMER.mobile,
        email: 'wang.xiaoming@example.cn',
        name: DEMO_CUSTOMER.name,
        idNumber: null,
        consent: null,
      }),
    },
    {
      topic: 'app.customer-events.v1',
      key: 'APP-88001',
      value: JSON.stringify({
        eventId: 'W-2',
        type: 'CONSENT_CHANGED',
        at: '2026-03-01T20:01:00+08:00',
        userId: 'APP-88001',
        consent: { purpose: 'MARKETING', channel: 'SMS', granted: false },
      }),
    },
    {
      topic: 'agency.leads.v1',
      key: 'LEAD-5501',
      value: JSON.stringify({
        leadId: 'LEAD-5501',
        createdAt: '2026-09-01T11:00:00+08:00',
        updatedAt: '2026-09-03T11:00:00+08:00',
        agentCode: 'AG0042',
        name: '王曉明',
        gender: 'M',
        birthDate: '1985/3/7',
        mobile: '138 0013 8000',
        city: '北京',
        source: 'REFERRAL',
        referredByClientNo: 'C1000007',
        interests: ['CRITICAL_ILLNESS'],
        status: 'QUOTED',
        convertedPolicyNo: null,
      }),
    },
  ];
}
