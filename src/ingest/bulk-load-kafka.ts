import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { KafkaClient } from '../messaging/kafka.ts';
import type { BatchPart, IngestDeps } from './apply-batch.ts';
import { bulkLoadParts, type BulkLoadResult } from './bulk-load.ts';
import type { TopicRouter } from './topic-router.ts';
import { plainFormat, type WireFormat } from './wire-format.ts';
import { fileParts, type FileSource } from './file-import.ts';

/**
 * `hub bulk-load`: the source topics as they stand — a Debezium connector's snapshot (`op: r`) and whatever
 * followed it — read from the beginning up to the end offsets seen at the start, by a consumer group of its own,
 * through the bulk load (bulk-load.ts). The positions are stored under the live consumer group's name with the
 * effects, and afterwards the live group's Kafka offsets are set to the same end offsets, so a hub started
 * afterwards streams on from exactly there (and would skip what the load applied even without the Kafka
 * offsets). The live group must have no members while this runs (stop the hubs, or run before the first start).
 * Batch files given with it load in the same transaction, their positions kept where `hub import` keeps them.
 */
export type KafkaBulkLoadResult = BulkLoadResult & { groupOffsetsSet: boolean };

export async function bulkLoadFromKafka(opts: {
  kafka: KafkaClient;
  orm: MikroORM;
  router: TopicRouter;
  groupId: string;
  deps: IngestDeps;
  logger: Logger;
  wireFormat?: WireFormat;
  /** Batch files loaded in the same transaction, after the topics (e.g. the banks' sales files). */
  files?: readonly FileSource[];
}): Promise<KafkaBulkLoadResult> {
  const { kafka, orm, router, groupId, deps, logger } = opts;
  const topics = router.streamTopics;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const end = new Map<string, bigint>();
    for (const topic of present)
      for (const p of await admin.fetchTopicOffsets(topic))
        if (BigInt(p.high) > BigInt(p.low)) end.set(`${topic}:${p.partition}`, BigInt(p.high));

    const parts = readUntil(
      kafka,
      router,
      present,
      end,
      `${groupId}.bulk-load.${randomBytes(4).toString('hex')}`,
      opts,
    );
    const result = await bulkLoadParts(orm, groupId, thenFiles(parts.iterable, opts.files ?? []), deps);
    await parts.close();

    // Streaming takes over where the load stopped: the live group's Kafka offsets at the end offsets.
    let groupOffsetsSet = true;
    for (const topic of present) {
      const partitions = [...end]
        .filter(([k]) => k.slice(0, k.lastIndexOf(':')) === topic)
        .map(([k, offset]) => ({ partition: Number(k.slice(k.lastIndexOf(':') + 1)), offset: offset.toString() }));
      if (partitions.length === 0) continue;
      try {
        await admin.setOffsets({ groupId, topic, partitions });
      } catch (e) {
        groupOffsetsSet = false;
        logger.warn('could not set the live group offsets (members running?); the stored positions still apply', {
          groupId,
          topic,
          error: (e as Error).message,
        });
      }
    }
    await admin.deleteGroups([parts.group]).catch(() => {});
    return { ...result, groupOffsetsSet };
  } finally {
    await admin.disconnect();
  }
}

async function* thenFiles(topics: AsyncIterable<BatchPart>, files: readonly FileSource[]): AsyncGenerator<BatchPart> {
  yield* topics;
  for (const file of files) yield* fileParts(file);
}

/** Pulls every partition's messages up to its end offset, a batch at a time, as the load consumes them. */
function readUntil(
  kafka: KafkaClient,
  router: TopicRouter,
  topics: readonly string[],
  end: ReadonlyMap<string, bigint>,
  group: string,
  opts: { wireFormat?: WireFormat },
): { iterable: AsyncIterable<BatchPart>; close(): Promise<void>; group: string } {
  const pending = new Set(end.keys());
  const queue: BatchPart[] = [];
  let wake: (() => void) | null = null;
  let room: (() => void) | null = null;
  let failed: Error | null = null;
  const consumer = kafka.consumer({ groupId: group });
  const signal = () => {
    wake?.();
    wake = null;
  };
  const started = (async () => {
    if (pending.size === 0) return;
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const key = `${batch.topic}:${batch.partition}`;
        const stopAt = end.get(key) ?? 0n;
        const route = router.route(batch.topic);
        const messages = batch.messages
          .filter((m) => BigInt(m.offset) < stopAt)
          .map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key ?? null,
            value: m.value ?? null,
            timestamp: m.timestamp ?? null,
          }));
        if (route && messages.length > 0) {
          const decoded = await (opts.wireFormat ?? plainFormat).decode(route.connector.manifest.id, messages);
          // Back-pressure: at most a few batches wait for the load.
          while (queue.length >= 8) await new Promise<void>((r) => (room = r));
          queue.push({ route, partition: batch.partition, messages: decoded });
          signal();
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last && BigInt(last.offset) + 1n >= stopAt && pending.delete(key)) signal();
      },
    });
  })().catch((e: unknown) => {
    failed = e instanceof Error ? e : new Error(String(e));
    signal();
  });
  async function* iterable(): AsyncGenerator<BatchPart> {
    await started;
    for (;;) {
      if (failed) throw failed;
      const next = queue.shift();
      if (next) {
        room?.();
        room = null;
        yield next;
        continue;
      }
      if (pending.size === 0) return;
      await new Promise<void>((r) => (wake = r));
    }
  }
  return {
    iterable: iterable(),
    group,
    close: async () => {
      await consumer.disconnect().catch(() => {});
    },
  };
}
