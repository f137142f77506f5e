import type { IngestDeps } from './apply-batch.ts';
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { Connector } from '../connectors/framework/connector.ts';
import { applyBatch, PartiallyApplied, type BatchResult } from './apply-batch.ts';
import type { KafkaClient } from '../messaging/kafka.ts';
import type { TopicRouter } from './topic-router.ts';
import { plainFormat, type WireFormat } from './wire-format.ts';

/**
 * Replay / backfill of ONE connector: its topics are re-read from the beginning or from a point in time by a
 * consumer group of its own, up to the end offsets seen at the start, through the same apply step. The live
 * group's positions are not touched, and the other connectors are not disturbed; the source versions make
 * re-applied changes no-ops unless something was lost or deliberately reset.
 */
export type ReplayReport = {
  connector: string;
  group: string;
  messages: number;
  applied: number;
  stale: number;
  quarantined: number;
};

export async function replayConnector(opts: {
  kafka: KafkaClient;
  orm: MikroORM;
  router: TopicRouter;
  connector: Connector;
  from: 'beginning' | Date;
  deps: IngestDeps;
  groupPrefix: string;
  logger: Logger;
  wireFormat?: WireFormat;
}): Promise<ReplayReport> {
  const { kafka, orm, router, connector, deps, logger } = opts;
  const topics = router.streamTopics.filter((t) => router.route(t)?.connector === connector);
  if (topics.length === 0)
    throw new Error(
      `connector ${connector.manifest.id} has no Kafka topics to replay (file connectors are re-imported with \`hub import\`)`,
    );
  const group = `${opts.groupPrefix}.replay.${connector.manifest.id}.${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  // Where to start and where to stop, per partition.
  const start = new Map<string, string>();
  const end = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) end.set(`${topic}:${p.partition}`, BigInt(p.high));
    const from =
      opts.from === 'beginning'
        ? await admin.fetchTopicOffsets(topic).then((ps) => ps.map((p) => ({ partition: p.partition, offset: p.low })))
        : await admin.fetchTopicOffsetsByTimestamp(topic, opts.from.getTime());
    for (const p of from) start.set(`${topic}:${p.partition}`, p.offset);
  }
  await admin.disconnect();

  const pending = new Set([...end].filter(([k, high]) => high > BigInt(start.get(k) ?? '0')).map(([k]) => k));
  const report: ReplayReport = {
    connector: connector.manifest.id,
    group,
    messages: 0,
    applied: 0,
    stale: 0,
    quarantined: 0,
  };
  if (pending.size === 0) return report;
  const consumer = kafka.consumer({ groupId: group });
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    // Start where asked (the group is new, so without a seek it would read from the beginning).
    for (const [k, offset] of start) {
      const i = k.lastIndexOf(':');
      consumer.seek({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset });
    }
  });
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const key = `${batch.topic}:${batch.partition}`;
      const stopAt = end.get(key) ?? 0n;
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
      const route = router.route(batch.topic);
      if (route && messages.length > 0) {
        const count = (r: BatchResult) => {
          report.applied += r.applied;
          report.stale += r.stale;
          report.quarantined += r.quarantined;
        };
        const r = await applyBatch(
          orm,
          group,
          route,
          batch.partition,
          await (opts.wireFormat ?? plainFormat).decode(connector.manifest.id, messages),
          deps,
        ).catch((e: unknown) => {
          // Transactions of the batch that committed before one failed count now: redelivered, they are skipped.
          if (e instanceof PartiallyApplied) for (const c of e.committed.values()) count(c.result);
          throw e;
        });
        report.messages += messages.length;
        count(r);
      }
      const last = batch.messages[batch.messages.length - 1];
      if (last && BigInt(last.offset) + 1n >= stopAt) {
        pending.delete(key);
        if (pending.size === 0) finish();
      }
    },
  });
  await done;
  await consumer.disconnect();
  logger.info('replay finished', { ...report });
  return report;
}
