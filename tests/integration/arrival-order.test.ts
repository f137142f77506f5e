import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateErPopulation } from '../../bench/er-population.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { seeded } from '../../src/demo/random.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';
import { erClientEvents } from '../support/er-client-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Arrival order (the soak's finding, soak/soak.ts): the same records in two orders and batchings end, after the
 * resolution pass, in the same golden records — partition AND surviving values. Every client carries one
 * timestamp, so survivorship's recency ties everywhere and the tie-break decides (record-order.ts: content, not
 * the generated record id); payers come twice with one payment instant and different mobiles (equal versions:
 * content, not which partition was read first).
 */
const rows = generateErPopulation({ households: 60, seed: 9, extras: 0.2 });
const clients: BatchInputMessage[] = erClientEvents(rows, 'A');
const payers = rows.filter((r) => r.attributes.idNumber && r.attributes.familyName).slice(0, 40);
const payments: BatchInputMessage[] = payers.flatMap((row, i) =>
  [0, 1].map((k) => ({
    topic: 'billing.payments.v1',
    key: `PAY-${i}-${k}`,
    value: JSON.stringify({
      eventId: `EV-${i}-${k}`,
      eventType: 'PREMIUM_PAID',
      // Both payments of a payer at one instant: one version of the payer record, two payloads.
      occurredAt: '2026-11-03T10:00:00+08:00',
      paymentId: `PAY-${i}-${k}`,
      policyNo: `P${String(i).padStart(7, '0')}`,
      payer: {
        name: `${row.attributes.familyName}${row.attributes.givenName ?? ''}`,
        idType: '01',
        idNumber: row.attributes.idNumber,
        mobile: `1390000${String(i * 2 + k).padStart(4, '0')}`,
      },
      amount: '100.00',
      currency: 'CNY',
      method: 'WECHAT',
      bankAccount: null,
      status: 'SUCCESS',
      failureReason: null,
    }),
  })),
);
const events = [...clients, ...payments];

describe('the same records in another order of arrival', () => {
  const r = seeded(21);
  const orders = [
    { name: 'as generated, batches of 150', messages: events, batch: () => 150 },
    {
      name: 'reversed and shuffled, batches of 1–40',
      messages: r.shuffle([...events].reverse()),
      batch: () => r.int(1, 40),
    },
  ];
  const dbs: TestDatabase[] = [];
  const prints: Record<string, unknown[]>[] = [];

  beforeAll(async () => {
    for (const order of orders) {
      const db = await createTestDatabase('hub_arrival_order');
      dbs.push(db);
      const orm = await openOrm(db.url, { poolMax: 2 });
      try {
        await migrate(orm);
        const deps = ingestDepsFor('', 'settle');
        const router = new TopicRouter(connectors);
        for (let i = 0; i < order.messages.length; ) {
          const n = order.batch();
          await ingestBatch(orm, router, `order-${i}`, order.messages.slice(i, i + n), deps);
          i += n;
        }
      } finally {
        await orm.close(true);
      }
      await converge(db.url);
      prints.push(await storeFingerprint(db.url));
    }
  }, 600_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('gives the same golden records (members and surviving values) and the same contact points', () => {
    const [a, b] = prints as [Record<string, unknown[]>, Record<string, unknown[]>];
    process.stdout.write(
      `arrival order test: ${events.length} messages; ${a.records?.length} / ${b.records?.length} source records, ${JSON.stringify(a.goldenRecords)} / ${JSON.stringify(b.goldenRecords)} golden records\n`,
    );
    expect(b.records).toEqual(a.records);
    expect(b.goldenRecords).toEqual(a.goldenRecords);
    expect(b.identifiers).toEqual(a.identifiers);
    expect(b.contactPoints).toEqual(a.contactPoints);
  });
});
