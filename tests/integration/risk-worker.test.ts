import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/ingest/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { screenParties } from '../../src/risk/screening.ts';
import { evaluateAlertsForParties } from '../../src/risk/alerts.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { endOffsets, kafkaBrokers, untilConsumed } from '../support/kafka.ts';
import { startTestHub } from '../support/hub.ts';

/**
 * The risk follow-up of streaming ingest is queued with each ingest transaction and settled by the risk worker
 * (src/risk/risk-worker.ts). After a stream of every live topic — customers, policies, payments, claims, calls —
 * the queue is empty and the alert state the worker left is the one a full rescan of every customer computes:
 * re-screening and re-evaluating everyone changes nothing.
 */
describe('risk worker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const prefix = `rw${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    db = await createTestDatabase();
    const brokers = await kafkaBrokers();
    const kafka = createKafka(brokers, 'test-producer');
    const router = new TopicRouter(connectors, prefix);
    await ensureTopics(kafka, router.streamTopics);
    // A short round, so the test sees many rounds interleaved with ingest.
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, RISK_ROUND_MS: '200' });
    const traffic = generateTraffic({ clients: 2_000, policies: 2_500 });
    await publish(kafka, traffic.map((m) => ({ ...m, topic: prefix + m.topic })));
    await untilConsumed(db.url, await endOffsets(brokers, router.streamTopics), 300_000);
  }, 360_000);

  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('leaves an empty queue and the alert state a full rescan computes', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows: [state] } = await c.query(`select (select count(*) from risk_work)::int as queued, (select count(*) from alert where status <> 'CLOSED')::int as open,
        (select count(distinct rule_code) from alert)::int as rules, (select count(*) from outbox)::int as outbox`);
      process.stderr.write(`risk worker: ${JSON.stringify(state)}\n`);
      expect(state.queued).toBe(0);
      // Not vacuous: the stream raised alerts of several rules, and their changes went to the outbox.
      expect(state.open).toBeGreaterThanOrEqual(3);
      expect(state.rules).toBeGreaterThan(1);
      expect(state.outbox).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
    const changed = await hub.orm.em.fork().transactional(async (em) => {
      const parties = (await em.execute<{ id: string }[]>(`select id from party where status = 'ACTIVE' order by id`)).map((p) => p.id);
      await screenParties(em, parties);
      return evaluateAlertsForParties(em, parties, prefix);
    });
    expect(changed).toBe(0);
  }, 120_000);
});
