import type { IngestDeps } from './apply-batch.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { SourceMessage } from '../connectors/framework/connector.ts';
import {
  addBatchResult,
  applyBatches,
  emptyBatchResult,
  mapMessages,
  PartiallyApplied,
  type BatchPart,
  type BatchResult,
} from './apply-batch.ts';
import { GroupCommit } from './group-commit.ts';
import { OffsetCommits } from './offset-commits.ts';
import { ConsumerBacklog } from './consumer-backlog.ts';
import { PartitionLanes } from './partition-lanes.ts';
import { TableStatistics } from './table-statistics.ts';
import { publishDeadLetters } from './dead-letters.ts';
import { startOutboxDrainer } from '../messaging/outbox-drainer.ts';
import { maybeCrash } from './fault-injection.ts';
import { ensureTopics, type Consumer, type KafkaClient } from '../messaging/kafka.ts';
import {
  applySeconds,
  consumerLag,
  eventsTotal,
  quarantinedTotal,
  retriesTotal,
  retryCause,
  sourceTimeLag,
} from '../observability/metrics.ts';
import type { Route, TopicRouter } from './topic-router.ts';
import { plainFormat, type WireFormat } from './wire-format.ts';

/**
 * Live consumption of every connector's topics in one consumer group. Per fetched batch (one topic
 * partition), messages are cut into chunks and queued in the partition's lane (partition-lanes.ts), which applies
 * them one after the other, each in a database transaction with its position (apply-batch.ts); chunks of different
 * partitions that wait while others are being applied share one transaction (group-commit.ts). kafkajs fetches
 * the next messages while a transaction runs (up to `maxPendingMessages` handed over and not applied); Kafka's
 * offset is committed after the chunk's transaction (offset-commits.ts). A crash in between leads to redelivery,
 * which the stored position turns into a no-op. Transient failures (database or broker unavailable) are retried
 * with capped exponential backoff — the partition waits, nothing is skipped. Quarantined messages go to their
 * dead-letter topic through the outbox (dead-letters.ts).
 */
export type ConnectorConsumer = { stop(): Promise<void>; isRunning(): boolean };

const chunkSize = 500;
/** Messages per group-committed transaction. */
const groupMaxMessages = 2_000;
/** Partitions kafkajs may hand over at once: all of them, so that a trickle on many partitions can be grouped. */
const partitionsInFlight = 64;
/** Messages handed over and not yet applied, at most: a transaction's worth waiting while one runs. */
const maxPendingMessages = 2 * groupMaxMessages;
const backoff = (attempt: number) => Math.min(300 * 2 ** (attempt - 1), 30_000);

export async function startConnectorConsumer(opts: {
  kafka: KafkaClient;
  orm: MikroORM;
  router: TopicRouter;
  groupId: string;
  deps: IngestDeps;
  logger: Logger;
  /** Transactions applied at the same time (each holding the chunks of one or more partitions). */
  concurrency?: number;
  sessionTimeoutMs?: number;
  /** Decodes connectors' wire formats (schema-registry Avro) before mapping; plain JSON by default. */
  wireFormat?: WireFormat;
  /**
   * Called after each committed step, with the messages still waiting to be applied over all partitions
   * (consumer-backlog.ts): the runtime wakes the risk and programme workers, which settle what it queued and pace
   * their rounds by the backlog.
   */
  afterCommit?: (waiting: number) => void;
}): Promise<ConnectorConsumer> {
  const wireFormat = opts.wireFormat ?? plainFormat;
  const { kafka, orm, router, groupId, deps, logger } = opts;
  // Dead-letter topics are created up front, so the first bad message does not race topic auto-creation.
  await ensureTopics(kafka, [...router.streamTopics, ...router.streamTopics.map((t) => `${t}.dlq`)]);
  const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
  const heartbeatInterval = Math.min(3_000, Math.floor(sessionTimeout / 3));
  // maxWaitTimeInMs: kafkajs's default (5 s) is how long a fetch may sit on the broker; with many partitions
  // and a trickle of events it showed up directly in publish-to-visible latency (bench:ingest freshness).
  const newConsumer = (): Consumer =>
    kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout, heartbeatInterval, maxWaitTimeInMs: 250 });
  let consumer: Consumer = newConsumer();
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  let running = false;
  let stopping = false;

  // Quarantined messages go to their dead-letter topics after the transaction that quarantined them commits.
  const deadLetters = startOutboxDrainer({
    name: 'dead-letter',
    publishOnce: () => publishDeadLetters(orm, producer),
    logger,
  });
  const drainDeadLetters = () => deadLetters.drain();
  const statistics = new TableStatistics(orm, logger);
  // A group over the key-lock budget is several transactions; on shutdown it ends after the one in flight.
  const groupDeps: IngestDeps = { ...deps, isStopping: () => stopping };
  const applyGroup = async (parts: BatchPart[]): Promise<BatchResult[]> => {
    const started = performance.now();
    const results = await applyBatches(orm, groupId, parts, groupDeps);
    logger.debug('ingest group applied', {
      partitions: parts.length,
      messages: parts.reduce((n, p) => n + p.messages.length, 0),
      ms: Math.round(performance.now() - started),
    });
    return results;
  };
  const groupCommit = new GroupCommit<BatchPart, BatchResult>(applyGroup, {
    sizeOf: (p) => p.messages.length,
    keyOf: (p) => `${p.route.topic}\u0000${p.partition}`,
    maxMessages: groupMaxMessages,
    parallel: opts.concurrency ?? 1,
  });

  /**
   * Applies one chunk, retrying transient failures until it succeeds or the consumer is stopped. kafkajs only
   * heartbeats when asked, so a chunk that takes longer than the session timeout (identity resolution of many
   * new customers, a database that is slow to come back) keeps heartbeating while it works — otherwise the group
   * would drop this member and hand its partitions to another mid-batch.
   */
  const applyWithRetry = async (
    route: Route,
    partition: number,
    chunk: SourceMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<BatchResult | null> => {
    const beating = setInterval(() => void heartbeat().catch(() => {}), heartbeatInterval);
    try {
      return await applyUntilDone(route, partition, chunk, heartbeat);
    } finally {
      clearInterval(beating);
    }
  };
  const applyUntilDone = async (
    route: Route,
    partition: number,
    chunk: SourceMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<BatchResult | null> => {
    const total = emptyBatchResult();
    let rest = chunk;
    for (let attempt = 1; ; attempt += 1) {
      let part: BatchPart | null = null;
      try {
        const messages = await wireFormat.decode(route.connector.manifest.id, rest);
        // Mapped (and the matcher's keys of its customers worked out) now, while the transaction before it runs.
        const mapped = mapMessages(route, messages, deps.maxMessageBytes);
        for (const m of mapped)
          if ('changes' in m)
            for (const c of m.changes) if (c.entity === 'party' && c.op === 'upsert') deps.matcher.keys(c.attributes);
        part = { route, partition, messages, mapped };
        // A retry goes alone: a chunk that keeps failing must stall only its own partition, not its group.
        addBatchResult(total, await groupCommit.submit(part, { alone: attempt > 1 }));
        return total;
      } catch (e) {
        // What the group's earlier transactions committed of this chunk counts, and is not applied again.
        const committed = e instanceof PartiallyApplied && part ? e.committed.get(part) : undefined;
        if (committed) {
          addBatchResult(total, committed.result);
          rest = rest.slice(committed.messages);
          if (rest.length === 0) return total;
        }
        if (stopping) return null;
        const delay = backoff(attempt);
        const cause = retryCause(e);
        retriesTotal.inc({ connector: route.connector.manifest.id, cause });
        logger.warn('applying a batch failed; retrying without skipping', {
          cause,
          topic: route.topic,
          partition,
          attempt,
          delayMs: delay,
          error: e,
        });
        await new Promise((r) => setTimeout(r, delay));
        await heartbeat().catch(() => {});
      }
    }
  };

  /** Messages waiting to be applied, which the runtime's workers pace their rounds by. */
  const backlog = new ConsumerBacklog();
  const offsetCommits = new OffsetCommits(
    (offsets) => consumer.commitOffsets(offsets),
    (error, offsets) =>
      logger.info('committing offsets to Kafka failed; the stored positions cover it, the next chunk commits again', {
        error,
        partitions: offsets.length,
      }),
  );
  /** What a lane's step applies its messages with: the partition and the latest batch they came in. */
  type Handover = {
    route: Route;
    topic: string;
    partition: number;
    highWatermark: string;
    heartbeat: () => Promise<void>;
  };

  /**
   * Applies one step of a partition's lane (it waits for the partition's earlier steps), then does what follows
   * applied messages: Kafka's offset, metrics, the risk worker's wake-up, dead letters. False if abandoned.
   */
  const applyStep = async (at: Handover, chunk: SourceMessage[]): Promise<boolean> => {
    const connector = at.route.connector.manifest.id;
    const timer = applySeconds.startTimer({ connector });
    const result = await applyWithRetry(at.route, at.partition, chunk, at.heartbeat);
    if (result === null) return false;
    timer();
    maybeCrash('after-apply');
    const last = chunk[chunk.length - 1];
    if (last) {
      const next = (BigInt(last.offset) + 1n).toString();
      offsetCommits.note({ topic: at.topic, partition: at.partition, offset: next });
      consumerLag.set(
        { topic: at.topic, partition: String(at.partition) },
        Math.max(0, Number(BigInt(at.highWatermark) - BigInt(next))),
      );
      backlog.applied(`${at.topic}/${at.partition}`, next);
    }
    const waiting = backlog.waiting();
    opts.afterCommit?.(waiting);
    statistics.noteApplied(chunk.length - result.skipped, waiting);
    eventsTotal.inc({ connector, outcome: 'applied' }, result.applied);
    eventsTotal.inc({ connector, outcome: 'stale' }, result.stale);
    eventsTotal.inc({ connector, outcome: 'skipped' }, result.skipped);
    eventsTotal.inc({ connector, outcome: 'quarantined' }, result.quarantined);
    for (const r of result.rejected) quarantinedTotal.inc({ connector, code: r.code });
    if (result.latestSourceTime)
      sourceTimeLag.set({ connector }, (Date.now() - result.latestSourceTime.getTime()) / 1000);
    if (result.quarantined > 0) {
      logger.warn('messages quarantined', { topic: at.topic, partition: at.partition, rejected: result.rejected });
      // Dead letters go out right away (leftovers on the drainer's timer) — not polled after every chunk,
      // which cost two statements a chunk.
      await drainDeadLetters().catch((error: unknown) => logger.warn('publishing dead letters failed', { error }));
    }
    return true;
  };
  const lanes = new PartitionLanes<Handover, SourceMessage>({
    apply: applyStep,
    maxItems: chunkSize,
    onBroken: (at, first, error) => {
      logger.error('applying messages failed unexpectedly; reading their partition again from the first of them', {
        topic: at.topic,
        partition: at.partition,
        offset: first.offset,
        error,
      });
      if (!stopping) consumer.seek({ topic: at.topic, partition: at.partition, offset: first.offset });
    },
  });

  await producer.connect();
  /**
   * Joins the group and consumes. kafkajs restarts itself after retriable crashes; after a non-retriable one
   * (e.g. the group forgot this member) it stops for good, which would leave the hub up but ingesting nothing —
   * so a fresh consumer rejoins after a pause. Stored positions make whatever is redelivered a no-op.
   */
  const startConsuming = async (): Promise<void> => {
    // After a rebalance only the partitions assigned to this member count towards its backlog.
    consumer.on(consumer.events.GROUP_JOIN, (e) => backlog.assigned(e.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (e) => {
      logger.error('kafka consumer crashed', { error: e.payload.error, restart: e.payload.restart });
      if (e.payload.restart || stopping) return;
      running = false;
      const crashed = consumer;
      setTimeout(() => {
        void (async () => {
          await crashed.disconnect().catch(() => {});
          if (stopping) return;
          consumer = newConsumer();
          await startConsuming();
          logger.info('kafka consumer rejoined the group after a crash', { groupId });
        })().catch((err: unknown) => logger.error('restarting the kafka consumer failed', { error: err }));
      }, 1_000);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: router.streamTopics, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: partitionsInFlight,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const route = router.route(batch.topic);
        if (!route) throw new Error(`no connector for topic ${batch.topic}`);
        const first = batch.messages[0];
        if (first) backlog.fetched(`${batch.topic}/${batch.partition}`, first.offset, batch.highWatermark);
        const messages: SourceMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ?? null,
          value: m.value ?? null,
          timestamp: m.timestamp ?? null,
        }));
        for (let i = 0; i < messages.length; i += chunkSize) {
          // Room for the chunk among the messages handed over and not yet applied (the bound on memory and on how
          // far fetching runs ahead of the database); kafkajs's fetching waits while this batch does.
          while (!stopping && lanes.pendingItems() >= maxPendingMessages) {
            await lanes.room();
            await heartbeat().catch(() => {});
          }
          if (stopping || !isRunning() || isStale()) return;
          const chunk = messages.slice(i, i + chunkSize);
          const { topic, partition, highWatermark } = batch;
          lanes.enqueue(`${topic}\u0000${partition}`, { route, topic, partition, highWatermark, heartbeat }, chunk);
          // Fetching moves past the chunk now, while it waits for its transaction: the next fetch overlaps this
          // one's apply instead of following it. The position that counts is the one stored with the effects;
          // Kafka's committed offset follows the applied messages (applyStep).
          const last = chunk[chunk.length - 1];
          if (last) resolveOffset(last.offset);
        }
      },
    });
    running = true;
  };
  await startConsuming();
  return {
    isRunning: () => running,
    async stop() {
      stopping = true;
      // Chunks still waiting for a transaction are not started: they are redelivered after the restart and the
      // stored positions make that exact. The transaction in hand finishes.
      groupCommit.close(new Error('the consumer is stopping'));
      lanes.wakeAll();
      // Waits for the transaction in hand and Kafka's offsets to be committed — but not forever: a consumer
      // stuck reconnecting to an unreachable broker must not keep the process from shutting down (anything
      // not committed is redelivered and skipped by the stored positions).
      const limit = async (what: string, p: Promise<void>) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            logger.warn(`${what} did not finish within 20 s; continuing shutdown`);
            resolve();
          }, 20_000);
        });
        await Promise.race([p, timeout]);
        clearTimeout(timer);
      };
      await limit('the transaction in hand', lanes.idle());
      await limit('committing offsets to Kafka', offsetCommits.idle());
      await limit('consumer disconnect', consumer.disconnect());
      // The last dead letters go out before the producer does (or wait in the quarantine table for the next start).
      await limit('dead-letter publishing', deadLetters.stop());
      await limit('table statistics', statistics.close());
      await limit('producer disconnect', producer.disconnect());
      running = false;
    },
  };
}
