import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { screenParties } from '../../src/risk/screening.ts';
import { evaluateAlertsForParties } from '../../src/risk/alerts.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { eventually } from '../support/graphql.ts';
import { endOffsets, kafkaBrokers, untilConsumed } from '../support/kafka.ts';
import { startTestHub } from '../support/hub.ts';
import { migrate, openOrm, type Orm } from '../../src/db/orm.ts';
import { parkAfter, settleQueuedRiskWork } from '../../src/risk/risk-work.ts';
import { createLogger } from '../../src/config/logger.ts';

/**
 * The risk follow-up of streaming ingest is queued with each ingest transaction and settled by the risk worker
 * (src/risk/risk-worker.ts). After a stream of every live topic — customers, policies, payments, claims, calls —
 * and the holds of the rules that have one, the queue is empty and the alert state the worker left is the one a
 * full rescan of every customer computes: re-screening and re-evaluating everyone changes nothing.
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
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      RISK_ROUND_MS: '200',
    });
    // Short holds, so that the findings held (loss ratio, shared contact) open or drop within the test.
    await setAlertHolds(db.url, 2);
    const traffic = generateTraffic({ clients: 2_000, policies: 2_500 });
    await publish(
      kafka,
      traffic.map((m) => ({ ...m, topic: prefix + m.topic })),
    );
    await untilConsumed(db.url, await endOffsets(brokers, router.streamTopics), 300_000);
    // Then the re-evaluations queued for the ends of the holds fall due and are settled.
    await eventually(
      async () => ((await hub.orm.em.fork().execute(`select 1 from risk_work`)).length === 0 ? true : undefined),
      60_000,
      'the held findings',
    );
  }, 360_000);

  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('leaves an empty queue and the alert state a full rescan computes', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const {
        rows: [state],
      } =
        await c.query(`select (select count(*) from risk_work)::int as queued, (select count(*) from alert where status <> 'CLOSED')::int as open,
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
      const parties = (
        await em.execute<{ id: string }[]>(`select id from party where status = 'ACTIVE' order by id`)
      ).map((p) => p.id);
      await screenParties(em, parties);
      return evaluateAlertsForParties(em, parties, prefix);
    });
    expect(changed).toBe(0);
  }, 120_000);
});

/**
 * A queued row that cannot be settled (here: an id that is not a UUID) must not hold up the rest of the queue:
 * after failed rounds the worker goes one row at a time, counts the bad row's attempts, parks it with its error,
 * and settles the others.
 */
describe('risk worker with a row that keeps failing', () => {
  let db: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await openOrm(db.url, { poolMax: 2 });
    await migrate(orm);
  }, 60_000);

  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('parks it with its error and settles the rest', async () => {
    const party = '00000000-0000-4000-8000-000000000001';
    await orm.em.fork().execute(`insert into party (id, kind) values (?, 'PERSON')`, [party]);
    const work = (ids: string[]) => JSON.stringify({ screen: ids, evaluate: ids, activityOwners: [], policies: [] });
    await orm.em
      .fork()
      .execute(`insert into risk_work (work) values (?::jsonb), (?::jsonb)`, [work(['not-a-uuid']), work([party])]);
    const logger = createLogger('silent');
    // Both rows in one round: the bad one fails the round.
    await expect(settleQueuedRiskWork(orm, '', { limit: 200, failures: 0, logger })).rejects.toThrow();
    // One at a time: the bad row (queued first) fails alone until it is parked.
    for (let i = 0; i < parkAfter; i += 1)
      await expect(settleQueuedRiskWork(orm, '', { limit: 200, failures: 2, logger })).rejects.toThrow();
    // Then the good row is settled, and the bad one stays parked with its error.
    expect(await settleQueuedRiskWork(orm, '', { limit: 200, failures: 2, logger })).toBe(1);
    expect(await settleQueuedRiskWork(orm, '', { limit: 200, failures: 0, logger })).toBe(0);
    const rows = await orm.em
      .fork()
      .execute<{ attempts: number; last_error: string | null }[]>(`select attempts, last_error from risk_work`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.attempts).toBe(parkAfter);
    expect(rows[0]?.last_error).toMatch(/uuid/i);
  }, 60_000);
});
