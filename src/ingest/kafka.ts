import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

/**
 * The only module that imports the Kafka client library (kafkajs today; see docs/architecture.md on why it is
 * kept replaceable). Everything else in the hub sees these small types.
 */
export type { Consumer, Producer };
export type KafkaClient = Kafka;

export function createKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.ERROR,
    retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: 10 },
  });
}

export type OutgoingMessage = { topic: string; key: string | null; value: string | null };

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
      for (let i = 0; i < list.length; i += 1000) {
        await producer.send({ topic, acks: -1, messages: list.slice(i, i + 1000).map((m) => ({ key: m.key, value: m.value })) });
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
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    }
  } finally {
    await admin.disconnect();
  }
}
