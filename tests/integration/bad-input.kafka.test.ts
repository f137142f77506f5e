import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish, type OutgoingMessage } from '../../src/messaging/kafka.ts';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * Three kinds of bad input that used to get in, through the real broker: a zero-byte value (not a tombstone:
 * a tombstone's value is null) was taken for a tombstone and dropped unseen, a change event without its
 * idempotency id was applied, and an oversized value was stored whole. Each is now quarantined with its reason
 * (the oversized one as a prefix with its size and digest), and the valid event after them is applied.
 */
const topic = 'billing.payments.v1';
const payment = (over: Record<string, unknown>) =>
  JSON.stringify({
    eventId: 'E-OK',
    eventType: 'PREMIUM_PAID',
    occurredAt: '2026-11-03T10:00:00+08:00',
    paymentId: 'PAY-OK',
    policyNo: 'P0000001',
    payer: { name: '王小明', idType: '01', idNumber: residentId('110105', '19850307', '123'), mobile: '13800138000' },
    amount: '100.00',
    currency: 'CNY',
    method: 'WECHAT',
    bankAccount: null,
    status: 'SUCCESS',
    failureReason: null,
    ...over,
  });

describe('bad input on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `bi${randomBytes(3).toString('hex')}.`;
  const maxBytes = 64 * 1024;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test'), [prefix + topic]);
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      HUB_MAX_MESSAGE_BYTES: String(maxBytes),
    });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('quarantines a zero-byte value, an event without its idempotency id and an oversized value; applies the rest', async () => {
    const oversized = payment({ eventId: 'E-BIG', paymentId: 'PAY-BIG', failureReason: 'x'.repeat(300 * 1024) });
    const messages: OutgoingMessage[] = [
      { topic: prefix + topic, key: 'EMPTY', value: Buffer.alloc(0) },
      { topic: prefix + topic, key: 'NOID', value: payment({ eventId: null, paymentId: 'PAY-NOID' }) },
      { topic: prefix + topic, key: 'BIG', value: oversized },
      { topic: prefix + topic, key: 'OK', value: payment({}) },
    ];
    await publish(createKafka(brokers, 'test-producer'), messages);

    const steward = await tokenFor(hub, 'DATA_STEWARD', 'INTEGRATION_ADMIN');
    const q = await eventually(
      async () => {
        const res = await gql(
          hub.url,
          steward,
          `{ quarantinedEvents(first: 10) { edges { node { errorCode reason } } } }`,
        );
        return res.data?.quarantinedEvents.edges.length >= 3 ? res : undefined;
      },
      30_000,
      'three bad messages to be quarantined',
    );
    const byCode = Object.fromEntries(
      q.data.quarantinedEvents.edges.map((e: { node: { errorCode: string; reason: string } }) => [
        e.node.errorCode,
        e.node.reason,
      ]),
    );
    expect(Object.keys(byCode).sort()).toEqual(['EMPTY_VALUE', 'MISSING_FIELD', 'TOO_LARGE']);
    expect(byCode.EMPTY_VALUE).toMatch(/zero bytes/);
    expect(byCode.MISSING_FIELD).toMatch(/eventId/);
    expect(byCode.TOO_LARGE).toMatch(
      new RegExp(`${Buffer.byteLength(oversized)} bytes, over the maximum of ${maxBytes}`),
    );

    // The valid payment after them is applied; none of the bad ones is.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await eventually(
        async () =>
          (await c.query(`select 1 from activity where source_key = 'PAY-OK'`)).rowCount === 1 ? true : undefined,
        30_000,
        'the valid payment',
      );
      const bad = await c.query(`select source_key from activity where source_key in ('PAY-NOID', 'PAY-BIG')`);
      expect(bad.rowCount).toBe(0);
      // The oversized value is not stored whole: a prefix with its size and sha256.
      const [big] = (
        await c.query(
          `select length(message_value) as n, message_value from quarantined_event where error_code = 'TOO_LARGE'`,
        )
      ).rows;
      expect(big.n).toBeLessThan(5_000);
      const digest = createHash('sha256').update(Buffer.from(oversized)).digest('hex');
      expect(big.message_value).toContain(`sha256 ${digest}`);
    } finally {
      await c.end();
    }
  });
});
