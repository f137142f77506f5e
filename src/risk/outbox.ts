import { marks } from '../db/sql-sets.ts';
import { executeBound } from '../db/bound-sql.ts';
import { walkIndexesLocally } from '../db/local-settings.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { ensureTopics, type KafkaClient, type Producer } from '../messaging/kafka.ts';
import { startOutboxDrainer } from '../messaging/outbox-drainer.ts';

/**
 * Publishes outbox rows (alert changes, golden-record change events) to Kafka after the transaction that wrote
 * them committed: rows are claimed with FOR UPDATE SKIP LOCKED in the order they were inserted (`seq`), sent, and
 * marked published. At-least-once: a crash between send and mark re-sends; consumers deduplicate on the payload's
 * alertId + event time, or on a customer event's id and version. Rows written by the sync step name their topic
 * without the deployment's prefix (`logicalTopics`, e.g. hub.customers.v1: the sync step does not know it); the
 * prefix is added here. Alert rows carry their full topic.
 */
export type OutboxTopics = { topicPrefix: string; logicalTopics: readonly string[] };

export async function publishOutbox(
  orm: MikroORM,
  producer: Producer,
  limit = 500,
  topics: OutboxTopics = { topicPrefix: '', logicalTopics: [] },
): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    // Published rows are marked by an update; the pending index keeps their old versions' entries until VACUUM.
    await walkIndexesLocally(em);
    const rows = await executeBound<{ id: string; topic: string; message_key: string | null; payload: unknown }[]>(
      em,
      `select id, topic, message_key, payload from outbox where published_at is null order by seq limit ? for update skip locked`,
      [limit],
    );
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, typeof rows>();
    for (const r of rows) {
      const topic = topics.logicalTopics.includes(r.topic) ? `${topics.topicPrefix}${r.topic}` : r.topic;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), r]);
    }
    for (const [topic, list] of byTopic) {
      await producer.send({
        topic,
        acks: -1,
        messages: list.map((r) => ({
          key: r.message_key,
          value: JSON.stringify(r.payload),
          headers: { 'hub.outbox.id': r.id },
        })),
      });
    }
    await executeBound(
      em,
      `update outbox set published_at = now() where id in (${marks(rows.length)})`,
      rows.map((r) => r.id),
    );
    return rows.length;
  });
}

/**
 * Publishes the outbox (alert changes, golden-record change events) with a producer of its own: after each risk
 * round and each ingest commit, and on a timer.
 */
export type OutboxPublisher = { drain(): Promise<void>; stop(): Promise<void> };

export async function startOutboxPublisher(opts: {
  kafka: KafkaClient;
  orm: MikroORM;
  logger: Logger;
  /** Topics the outbox writes to, created up front so the first alert does not race topic auto-creation. */
  topics: readonly string[];
  /** The deployment's prefix and the outbox topics written without it. */
  routing?: OutboxTopics;
}): Promise<OutboxPublisher> {
  await ensureTopics(opts.kafka, opts.topics);
  const producer = opts.kafka.producer({ allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const drainer = startOutboxDrainer({
    name: 'outbox',
    publishOnce: () => publishOutbox(opts.orm, producer, 500, opts.routing),
    logger: opts.logger,
  });
  return {
    drain: drainer.drain,
    async stop() {
      await drainer.stop();
      await producer.disconnect();
    },
  };
}
