import { ensureBroker } from '../../scripts/kafka/broker.ts';
import { createKafka, publish } from '../../src/messaging/kafka.ts';
import pg from 'pg';

/**
 * Brokers for integration tests: KAFKA_BROKERS when given, otherwise the project's own broker from Maven
 * Central jars (started once by tests/global-setup.ts). If neither works the test fails with what to install.
 */
export async function kafkaBrokers(): Promise<string[]> {
  const given = process.env.KAFKA_BROKERS;
  if (given)
    return given
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
  return (await ensureBroker({ log: () => {} })).brokers;
}

/** The position the hub has stored per topic partition (`topic/partition` → next offset); empty if none yet. */
export async function consumedPositions(url: string): Promise<Map<string, bigint>> {
  return (await hubProgress(url)).positions;
}

/**
 * Stored positions and whether risk or customer-programme follow-up is due, read over one connection (a re-evaluation queued for the
 * end of an alert's hold is not due before then: ingest is done without it).
 */
async function hubProgress(url: string): Promise<{ positions: Map<string, bigint>; riskQueued: boolean }> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    const { rows } = await c.query<{ topic: string; partition: number; next_offset: string }>(
      `select topic, partition, next_offset::text as next_offset from consumer_offset`,
    );
    const positions = new Map(rows.map((r) => [`${r.topic}/${r.partition}`, BigInt(r.next_offset)]));
    const queued = await c
      .query<{ queued: boolean }>(
        `select exists (select 1 from risk_work where not_before <= now())
             or exists (select 1 from programme_work where not_before <= now() and attempts < 5) as queued`,
      )
      .then(
        (r) => r.rows[0]?.queued !== false,
        () => true,
      );
    return { positions, riskQueued: queued };
  } catch {
    return { positions: new Map(), riskQueued: true };
  } finally {
    await c.end().catch(() => {});
  }
}

/** The end offset of every non-empty partition of the topics (`topic/partition` → high watermark). */
export async function endOffsets(brokers: string[], topics: Iterable<string>): Promise<Map<string, bigint>> {
  const admin = createKafka(brokers, 'test-admin').admin();
  await admin.connect();
  try {
    const ends = new Map<string, bigint>();
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic))
        if (p.high !== '0') ends.set(`${topic}/${p.partition}`, BigInt(p.high));
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** Everything up to `ends` applied, and its follow-ups settled (the risk and programme workers' queues are empty). */
export async function consumedAll(databaseUrl: string, ends: Map<string, bigint>): Promise<boolean> {
  const { positions, riskQueued } = await hubProgress(databaseUrl);
  return [...ends].every(([k, end]) => (positions.get(k) ?? 0n) >= end) && !riskQueued;
}

/** Waits until the hub reading `databaseUrl` has stored positions at or past `ends` and settled their risk follow-up. */
export async function untilConsumed(
  databaseUrl: string,
  ends: Map<string, bigint>,
  timeoutMs: number,
  what = 'the hub',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await consumedAll(databaseUrl, ends))) {
    if (Date.now() > deadline) throw new Error(`${what} did not apply everything within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Publishes contract-topic messages under `prefix` and waits until the hub (reading `databaseUrl`) has applied
 * them all: every partition's stored position has reached the end of the topic.
 */
export async function publishAndWait(
  brokers: string[],
  prefix: string,
  databaseUrl: string,
  messages: readonly { topic: string; key: string | null; value: string | Buffer | null }[],
  timeoutMs = 60_000,
): Promise<void> {
  await publish(
    createKafka(brokers, 'test-producer'),
    messages.map((m) => ({ ...m, topic: prefix + m.topic })),
  );
  const ends = await endOffsets(brokers, new Set(messages.map((m) => prefix + m.topic)));
  await untilConsumed(databaseUrl, ends, timeoutMs, `the hub (${messages.length} published messages)`);
}
