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
    // Stale entries of published rows in the pending index: see walkIndexesLocally.
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
 * Deletes rows published more than `days` days ago, `batch` at a time (each delete its own short transaction, rows
 * another instance is deleting skipped); returns how many. Oldest first, through the published rows' index: without
 * the order, a purge where most rows qualify read the table from its start each batch, re-reading the pages earlier
 * batches had emptied. Unpublished rows are never deleted, however old: they wait for the broker.
 */
export async function purgePublishedOutbox(
  orm: MikroORM,
  days: number,
  batch = 5_000,
  /** Checked between batches: a stopping hub does not wait for a long backlog (the next start goes on). */
  stopping: () => boolean = () => false,
): Promise<number> {
  let total = 0;
  while (!stopping()) {
    const [gone] = await executeBound<{ n: number }[]>(
      orm.em.fork(),
      `with gone as (
         delete from outbox where id in (
           select id from outbox where published_at < now() - make_interval(days => ?::int) order by published_at limit ? for update skip locked)
         returning 1)
       select count(*)::int as n from gone`,
      [days, batch],
    );
    const n = gone?.n ?? 0;
    total += n;
    if (n < batch) break;
  }
  return total;
}

/** Rows one publishing transaction claims and sends at most. */
const outboxPage = 500;
const outboxSpacingMs = 100;

/** How often published rows past their retention are purged. */
const purgeEveryMs = 3_600_000;

/**
 * Publishes the outbox (alert changes, golden-record change events) with a producer of its own: after each risk
 * round and each ingest commit, and on a timer; and purges what was published longer ago than the retention
 * (HUB_OUTBOX_RETENTION_DAYS) once a minute after start and then hourly. Kafka holds the events for consumers; the
 * published rows are only the hub's short memory of what it sent.
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
  /** Published rows are deleted after this many days (default 7). */
  retentionDays?: number;
  /** The first purge this long after start (default a minute: not in the way of a starting hub's catch-up). */
  firstPurgeAfterMs?: number;
}): Promise<OutboxPublisher> {
  await ensureTopics(opts.kafka, opts.topics);
  const producer = opts.kafka.producer({ allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const drainer = startOutboxDrainer({
    name: 'outbox',
    publishOnce: () => publishOutbox(opts.orm, producer, outboxPage, opts.routing),
    pageSize: outboxPage,
    // Golden-record change events and alert changes leave within 100 ms of their commit, a pass for every commit
    // in that time together.
    minSpacingMs: outboxSpacingMs,
    logger: opts.logger,
  });
  const retentionDays = opts.retentionDays ?? 7;
  let purging: Promise<void> | null = null;
  let stopping = false;
  const purge = () => {
    purging ??= purgePublishedOutbox(opts.orm, retentionDays, 5_000, () => stopping)
      .then((n) => {
        if (n > 0) opts.logger.info('published outbox rows purged', { rows: n, retentionDays });
      })
      .catch((e: unknown) => opts.logger.warn('purging published outbox rows failed; will retry', { error: e }))
      .finally(() => {
        purging = null;
      });
  };
  const first = setTimeout(purge, opts.firstPurgeAfterMs ?? 60_000);
  const hourly = setInterval(purge, purgeEveryMs);
  first.unref();
  hourly.unref();
  return {
    drain: drainer.drain,
    async stop() {
      stopping = true;
      clearTimeout(first);
      clearInterval(hourly);
      await purging;
      await drainer.stop();
      await producer.disconnect();
    },
  };
}
