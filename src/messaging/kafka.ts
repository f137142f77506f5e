import { Kafka, logLevel, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import { createLogger, type Logger, type LogLevel } from '../config/logger.ts';

/**
 * The only module that imports the Kafka client library (kafkajs today; see docs/architecture.md on why it is
 * kept replaceable). Everything else in the hub sees these small types.
 */
export type { Consumer, Producer };
export type KafkaClient = Kafka;

/**
 * kafkajs reports the ordinary life of a consumer group — a rebalance after an instance joins, leaves or crashes,
 * a member the coordinator has already expired — as errors on every heartbeat. Those are expected and handled
 * (the consumer rejoins; stored positions make redelivery harmless), so they are logged as warnings in the hub's
 * JSON format; everything else kafkajs calls an error stays an error.
 */
const expected = [
  /group is rebalancing/i,
  /coordinator is not aware of this member/i,
  /not the correct coordinator/i,
  /coordinator is loading/i,
];

const logCreator =
  (logger: Logger) =>
  () =>
  ({ level, log }: LogEntry) => {
    const { message, timestamp: _t, logger: _l, ...fields } = log;
    const text = `${message} ${typeof fields.error === 'string' ? fields.error : ''}`;
    if (level <= logLevel.ERROR && !expected.some((r) => r.test(text))) logger.error(`kafka: ${message}`, fields);
    else logger.warn(`kafka: ${message}`, fields);
  };

export function createKafka(
  brokers: string[],
  clientId: string,
  logger: Logger = createLogger((process.env.LOG_LEVEL as LogLevel | undefined) ?? 'warn'),
): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.ERROR,
    logCreator: logCreator(logger),
    retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: 10 },
  });
}

export type OutgoingMessage = { topic: string; key: string | null; value: string | Buffer | null };

/** Publishes messages in order, per topic, waiting for all in-sync replicas. */
export async function publish(kafka: Kafka, messages: readonly OutgoingMessage[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    for (const [topic, list] of byTopic) {
      // A record batch per partition must stay under the broker's message.max.bytes (1 MB by default): 1,000
      // messages of ~1 KB on one partition did not (bench:ingest at its default size).
      for (let i = 0; i < list.length; i += 250) {
        await producer.send({
          topic,
          acks: -1,
          messages: list.slice(i, i + 250).map((m) => ({ key: m.key, value: m.value })),
        });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

export async function ensureTopics(kafka: Kafka, topics: readonly string[], partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      });
    } catch (e) {
      // kafkajs's wait for leaders only retries "leader not available"; a broker that has just started (or holds
      // many topics) may first answer "unknown topic" for topics it has just created. They exist: wait below.
      if ((e as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
    }
    for (const deadline = Date.now() + 60_000; ; ) {
      try {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: missing });
        if (
          meta.length === missing.length &&
          meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
        )
          return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`topics ${missing.join(', ')} have no leaders after 60 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await admin.disconnect();
  }
}
