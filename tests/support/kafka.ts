import { ensureBroker } from '../../scripts/kafka/broker.ts';
import { createKafka, publish } from '../../src/ingest/kafka.ts';
import { consumedPositions } from './fingerprint.ts';

/**
 * Brokers for integration tests: KAFKA_BROKERS when given, otherwise the project's own broker from Maven
 * Central jars (started once by tests/global-setup.ts). If neither works the test fails with what to install.
 */
export async function kafkaBrokers(): Promise<string[]> {
  const given = process.env.KAFKA_BROKERS;
  if (given) return given.split(',').map((b) => b.trim()).filter(Boolean);
  return (await ensureBroker({ log: () => {} })).brokers;
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
  const kafka = createKafka(brokers, 'test-producer');
  await publish(kafka, messages.map((m) => ({ ...m, topic: prefix + m.topic })));
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    for (const topic of new Set(messages.map((m) => prefix + m.topic))) for (const p of await admin.fetchTopicOffsets(topic)) if (p.high !== '0') ends.set(`${topic}/${p.partition}`, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await consumedPositions(databaseUrl);
    if ([...ends].every(([k, end]) => (at.get(k) ?? 0n) >= end)) return;
    if (Date.now() > deadline) throw new Error(`the hub did not apply ${messages.length} published messages within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
