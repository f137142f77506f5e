import type { IngestDeps } from './apply-batch.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import { applyBatch, emptyBatchResult, type BatchResult } from './apply-batch.ts';
import type { TopicRouter } from './topic-router.ts';
import { textMessage } from '../connectors/framework/connector.ts';

/**
 * The batch path: feeds messages that did not come from a broker (the demo data set, initial loads) through
 * exactly the same connector mapping and apply step as live consumption. Each input is one named stream whose
 * messages get positions 0..n-1 per topic, stored like Kafka offsets, so loading the same input twice is a no-op.
 */
export type BatchInputMessage = { topic: string; key: string | null; value: string | null };

export async function ingestBatch(
  orm: MikroORM,
  router: TopicRouter,
  streamName: string,
  messages: readonly BatchInputMessage[],
  deps: IngestDeps,
): Promise<BatchResult> {
  const total: BatchResult = emptyBatchResult();
  // Keep the stream order across topics (a role may refer to a policy published later): apply runs of
  // consecutive messages of the same topic in order.
  const positions = new Map<string, number>();
  let run: { topic: string; items: { offset: string; key: string | null; value: string | null }[] } | null = null;
  const flush = async () => {
    if (!run) return;
    const route = router.route(run.topic);
    if (!route) throw new Error(`no connector for topic ${run.topic}`);
    for (let i = 0; i < run.items.length; i += 500) {
      const chunk = run.items.slice(i, i + 500).map((m) => textMessage(run!.topic, m.offset, m.key, m.value));
      const r = await applyBatch(orm, `batch:${streamName}`, route, 0, chunk, deps);
      total.applied += r.applied;
      total.stale += r.stale;
      total.partiesChanged += r.partiesChanged;
      total.skipped += r.skipped;
      total.quarantined += r.quarantined;
      total.rejected.push(...r.rejected);
    }
    run = null;
  };
  for (const m of messages) {
    if (run && run.topic !== m.topic) await flush();
    const position = positions.get(m.topic) ?? 0;
    positions.set(m.topic, position + 1);
    run ??= { topic: m.topic, items: [] };
    run.items.push({ offset: String(position), key: m.key, value: m.value });
  }
  await flush();
  return total;
}
