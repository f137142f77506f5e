import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { consumedAll, consumedPositions, endOffsets, kafkaBrokers, untilConsumed } from '../support/kafka.ts';
import { startHubProcess } from '../support/hub-process.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';

/**
 * Crash storm: over 100,000 events on every live topic (core policy, billing, claims, contact centre, web/app),
 * the hub process is killed with SIGKILL at random moments while it ingests — at least ten times, each time
 * after it has made progress since the previous kill — and restarted; the final store must equal that of an
 * uninterrupted run over the same events. Kills land anywhere: inside a batch transaction (rolled back), between
 * the database commit and the Kafka offset commit (redelivered, skipped by the stored position), during
 * start-up or a rebalance.
 */
const kills = 10;
// The hub processes' logs (kafkajs reports every rebalance a kill causes as an error): kept, not printed.
const logFile = join(tmpdir(), `crash-storm-${process.pid}.log`);
const log = openSync(logFile, 'a');

const total = (positions: Map<string, bigint>) => [...positions.values()].reduce((s, v) => s + v, 0n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('crash storm', () => {
  let crashed: TestDatabase;
  let reference: TestDatabase;
  let brokers: string[];
  const prefix = `storm${randomBytes(3).toString('hex')}.`;
  const traffic = generateTraffic({
    seed: 11,
    clients: 1500,
    policies: 16_000,
    paymentsPerPolicy: 0.1,
    claimRate: 0.01,
    callsPerClient: 3,
  });
  let ends = new Map<string, bigint>();

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    [crashed, reference] = await Promise.all([createTestDatabase('hub_storm'), createTestDatabase('hub_storm_ref')]);
    const kafka = createKafka(brokers, 'test-producer');
    const router = new TopicRouter(connectors, prefix);
    await ensureTopics(kafka, router.streamTopics);
    await publish(
      kafka,
      traffic.map((m) => ({ ...m, topic: prefix + m.topic })),
    );
    ends = await endOffsets(brokers, router.streamTopics);
  }, 300_000);
  afterAll(async () => {
    await crashed?.drop();
    await reference?.drop();
  });

  const done = (url: string) => consumedAll(url, ends);
  const untilDone = (url: string, what: string) => untilConsumed(url, ends, 600_000, `${what} (hub logs: ${logFile})`);

  it('ends, after ten SIGKILLs during ingest of 100,000+ events, in the state of an uninterrupted run', async () => {
    expect(traffic.length).toBeGreaterThanOrEqual(100_000);
    expect(new Set(traffic.map((m) => m.topic)).size).toBeGreaterThanOrEqual(7);
    // A short session timeout: the group hands a killed instance's partitions on after 6 s, not 30.
    const common = {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'error',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };

    const ref = startHubProcess(
      { ...common, DATABASE_URL: reference.url, KAFKA_GROUP_ID: `ref-${prefix}` },
      { logFd: log },
    );
    await untilDone(reference.url, 'the uninterrupted run');
    ref.child.kill('SIGTERM');
    await ref.exited;

    const group = `storm-${prefix}`;
    const moments: { afterMs: number; consumedBefore: string; consumedAtKill: string }[] = [];
    let lastKillAt = 0n;
    while (moments.length < kills) {
      const run = startHubProcess({ ...common, DATABASE_URL: crashed.url, KAFKA_GROUP_ID: group }, { logFd: log });
      const started = Date.now();
      // Wait for progress beyond the previous kill, then kill after a further random 0–1 s (short enough that
      // all ten kills land while the hub still ingests: at 0–3 s the last ones came after it had finished).
      while (total(await consumedPositions(crashed.url)) <= lastKillAt) {
        if (Date.now() - started > 120_000)
          throw new Error(`the restarted hub made no progress in 2 minutes (hub logs: ${logFile})`);
        await sleep(100);
      }
      await sleep(Math.floor(Math.random() * 1000));
      const before = total(await consumedPositions(crashed.url));
      run.child.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
      const atKill = total(await consumedPositions(crashed.url));
      // The kill must land during ingest, not after it.
      expect(await done(crashed.url)).toBe(false);
      moments.push({
        afterMs: Date.now() - started,
        consumedBefore: before.toString(),
        consumedAtKill: atKill.toString(),
      });
      lastKillAt = atKill;
    }
    const last = startHubProcess({ ...common, DATABASE_URL: crashed.url, KAFKA_GROUP_ID: group }, { logFd: log });
    await untilDone(crashed.url, 'the crashed run after its last restart');
    last.child.kill('SIGTERM');
    await last.exited;
    process.stderr.write(
      `crash storm: ${traffic.length} events, ${moments.length} SIGKILLs at ${JSON.stringify(moments)}\n`,
    );

    // Arrival order differed (redelivery after each kill): both stores converge through the resolution pass.
    await converge(crashed.url);
    await converge(reference.url);
    const [after, uninterrupted] = [await storeFingerprint(crashed.url), await storeFingerprint(reference.url)];
    expect(after.activities!.length).toBeGreaterThan(5_000);
    expect(after.quarantined).toEqual([]);
    for (const part of Object.keys(uninterrupted)) expect(after[part], part).toEqual(uninterrupted[part]);
  }, 1_200_000);
});
