import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { streamingConnectors } from '../../src/connectors/registry.ts';
import { generateChannelDemo } from '../../src/demo/generate-channels.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { startTestHub } from '../support/hub.ts';
import { endOffsets, kafkaBrokers, untilConsumed } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Catching up on a backlog over every source topic, two ingest transactions at a time beside the risk worker:
 * PostgreSQL reports no deadlock for the hub's database, the consumer retried nothing, and the risk worker,
 * told of the backlog by the consumer, settled it in a few large rounds. (A backlog of this
 * kind logged "deadlock detected" and seven retries before.) Retries are counted by cause in
 * hub_transient_retries_total, so a deadlock in production shows as cause="deadlock".
 */
const deadlocks = async (url: string, name: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number(
      (await c.query(`select deadlocks from pg_stat_database where datname = $1`, [name])).rows[0]?.deadlocks ?? 0,
    );
  } finally {
    await c.end();
  }
};

describe('catch-up over every topic', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `cu${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase('hub_catchup');
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map((t) => prefix + t)),
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('applies a backlog of thousands of messages on all topics with two transactions at a time and no deadlock', async () => {
    const backlog = [...generateTraffic({ seed: 41, clients: 1_500, policies: 2_000 }), ...generateChannelDemo()];
    const topics = new Set(backlog.map((m) => m.topic));
    expect(topics.size).toBeGreaterThanOrEqual(streamingConnectors.length);
    expect(backlog.length).toBeGreaterThan(10_000);
    const before = await deadlocks(db.url, db.name);
    // The backlog is there before the hub starts, as after an outage.
    await publish(
      createKafka(brokers, 'test-producer'),
      backlog.map((m) => ({ ...m, topic: prefix + m.topic })),
    );
    const ends = await endOffsets(
      brokers,
      [...topics].map((t) => prefix + t),
    );
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      INGEST_CONCURRENCY: '2',
      DB_POOL_MAX: '8',
      RISK_ROUND_MS: '200',
    });
    await untilConsumed(db.url, ends, 180_000, 'the hub (the backlog)');
    const metrics = await (await fetch(hub.url.replace('/graphql', '/metrics'))).text();
    const series = (name: string) =>
      metrics.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    const total = (lines: string[]) => lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    // Retries of any cause, by name in the failure: a deadlock, or the server's lock table filled by one
    // transaction's advisory locks ("out of shared memory", cause resources), have both happened here.
    const retries = series('hub_transient_retries_total');
    expect(total(retries), retries.join('\n')).toBe(0);
    // While the backlog was applied the risk worker put its rounds off (src/db/worker-rounds.ts): each round
    // settled the follow-up of many ingest transactions, not of the few that commit every 200 ms.
    const rounds = total(series('hub_risk_rounds_total'));
    const settled = total(series('hub_risk_work_settled_total'));
    process.stderr.write(`catch-up: ${settled} ingest transactions' risk follow-up settled in ${rounds} rounds\n`);
    expect(rounds).toBeGreaterThan(0);
    // (Here: ~34 per round, three rounds; with the backlog not reported to the worker, ~9 per round, ten rounds.)
    expect(settled / rounds).toBeGreaterThanOrEqual(15);
    // Let the risk worker settle what ingest queued, and the statistics reach pg_stat_database (flushed at most
    // every second by each backend) before counting deadlocks.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await deadlocks(db.url, db.name)).toBe(before);
  });
});
