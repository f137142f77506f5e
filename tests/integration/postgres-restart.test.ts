import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startDedicatedPostgres, type DedicatedPostgres } from '../support/dedicated-postgres.ts';
import { consumedPositions, endOffsets, kafkaBrokers, untilConsumed } from '../support/kafka.ts';
import { startTestHub } from '../support/hub.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';

/**
 * A real PostgreSQL restart during ingest: the hub's database is a server of this test's own (so the shared one
 * is not disturbed), crashed (`pg_ctl stop -m immediate`: no checkpoint, crash recovery on start) and later
 * shut down cleanly (`-m fast`) while the hub is consuming every live topic. The hub reports not-ready while the
 * database is away, retries without skipping, and ends in the same state as an undisturbed hub fed the same
 * events on the shared server.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL restart during ingest', () => {
  let server: DedicatedPostgres;
  let db: TestDatabase;
  let hub: RunningHub | undefined;
  let brokers: string[];
  const prefix = `pgr${randomBytes(3).toString('hex')}.`;
  const traffic = generateTraffic({ seed: 5, clients: 400, policies: 600 });
  const half = Math.floor(traffic.length / 2);

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    server = await startDedicatedPostgres(15400 + Math.floor(Math.random() * 500));
    db = await createTestDatabase('hub_pgr_ref');
    await ensureTopics(createKafka(brokers, 'test'), new TopicRouter(connectors, prefix).streamTopics);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await server?.stop();
    await db?.drop();
  }, 120_000);

  const ready = async (url: string) => (await fetch(new URL('/readyz', url))).status;

  it('loses and duplicates nothing across a crash and a clean restart of the database', async () => {
    const send = (from: number, to: number) =>
      publish(
        createKafka(brokers, 'test-producer'),
        traffic.slice(from, to).map((m) => ({ ...m, topic: prefix + m.topic })),
      );
    await send(0, half);
    hub = await startTestHub({
      DATABASE_URL: server.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
    });
    // Crash the server as soon as ingest is under way.
    while ([...(await consumedPositions(server.url)).values()].reduce((s, v) => s + v, 0n) === 0n) await sleep(50);
    server.halt('immediate');
    expect(await ready(hub.url)).toBe(503);
    await sleep(3000);
    server.resume();
    await send(half, traffic.length);
    // A clean shutdown a little later, while the second half streams in.
    await sleep(1500);
    server.halt('fast');
    await sleep(2000);
    server.resume();
    const target = await endOffsets(brokers, new TopicRouter(connectors, prefix).streamTopics);
    await untilConsumed(server.url, target, 300_000);
    expect(await ready(hub.url)).toBe(200);

    // The same events, undisturbed, on the shared server.
    const reference = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
    });
    try {
      await untilConsumed(db.url, target, 300_000);
    } finally {
      await reference.stop();
    }
    // Arrival order differed (redelivery after the crash): both stores converge through the resolution pass.
    await converge(server.url);
    await converge(db.url);
    const [after, undisturbed] = [await storeFingerprint(server.url), await storeFingerprint(db.url)];
    expect(after.activities!.length).toBeGreaterThan(500);
    for (const part of Object.keys(undisturbed)) expect(after[part], part).toEqual(undisturbed[part]);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    const { rows } = await c.query(`select count(*)::int as n from quarantined_event`);
    await c.end();
    expect(rows[0].n).toBe(0);
  }, 600_000);
});
