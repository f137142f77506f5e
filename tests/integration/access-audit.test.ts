import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * Unmasked reads are audited as rows: who (subject, roles), the declared purpose, the golden customer (also
 * for a bank account read on a payment), the field and the operation. Masked reads leave no row; only the
 * compliance role reads the audit.
 */
const idNo = residentId('110105', '19850307', '123');

describe('access audit', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let customerId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'audit',
      [
        coreEvent('client', 'r', {
          CLNTNUM: 'A0000001',
          CLTTYPE: 'P',
          SURNAME: '王',
          GIVNAME: '小明',
          CLTSEX: 'M',
          CLTDOB: 19850307,
          IDTYPE: '01',
          IDNO: idNo,
          MOBILE: '13800138000',
          DTEUPD: dteupd('2026-11-01T00:00:00Z'),
        }),
        {
          topic: 'billing.payments.v1',
          key: 'PAY1',
          value: JSON.stringify({
            eventId: 'E1',
            eventType: 'PREMIUM_PAID',
            occurredAt: '2026-11-03T10:00:00+08:00',
            paymentId: 'PAY1',
            policyNo: 'P0000001',
            payer: { name: '王小明', idType: '01', idNumber: idNo, mobile: '13800138000' },
            amount: '100.00',
            currency: 'CNY',
            method: 'BANK_DEBIT',
            bankAccount: { bankCode: 'ICBC', accountNo: '6222021234567890123' },
            status: 'SUCCESS',
            failureReason: null,
          }),
        },
      ],
      ingestDeps,
    );
    const r = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "A0000001") { id } }`,
    );
    customerId = r.data.customerBySource.id;
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('writes a row per unmasked read with who, why, whose and which field; none for masked reads', async () => {
    const query = `query Underwriting($id: ID!) { customer(id: $id) { identifiers { value } contactPoints { value } payments(first: 5) { edges { node { ... on Payment { bankAccount } } } } } }`;
    const read = async (token: string, purpose: string) =>
      fetch(hub.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-purpose': purpose },
        body: JSON.stringify({ query, variables: { id: customerId }, operationName: 'Underwriting' }),
      });
    await read(await tokenFor(hub, 'CHANNEL_APP'), 'caller verification'); // everything masked: no rows
    await read(await tokenFor(hub, 'RISK_ADMIN'), 'proposal P123 underwriting');

    const compliance = await tokenFor(hub, 'COMPLIANCE');
    const audit = await eventually(
      async () => {
        const r = await gql(
          hub.url,
          compliance,
          `{ accessAudit(customerId: "${customerId}") { edges { node { subject roles purpose customerId field operation at } } } }`,
        );
        return r.data?.accessAudit.edges.length >= 2 ? r : undefined;
      },
      10_000,
      'audit rows to be written',
    );
    const rows = audit.data.accessAudit.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(new Set(rows.map((r: { field: string }) => r.field))).toEqual(
      new Set(['Identifier.value', 'Payment.bankAccount']),
    );
    for (const r of rows)
      expect(r).toMatchObject({
        subject: 'test-risk_admin',
        roles: ['RISK_ADMIN'],
        purpose: 'proposal P123 underwriting',
        customerId,
        operation: 'Underwriting',
      });
    // Only compliance reads the audit.
    const denied = await gql(hub.url, await tokenFor(hub, 'RISK_ADMIN'), `{ accessAudit { edges { cursor } } }`);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
