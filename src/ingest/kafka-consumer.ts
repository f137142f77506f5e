import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { SourceMessage } from '../connectors/framework/connector.ts';
import type { SyncDeps } from '../sync/apply-changes.ts';
import { applyBatch } from './apply-batch.ts';
import { maybeCrash } from './fault-injection.ts';
import { ensureTopics, type Consumer, type KafkaClient } from './kafka.ts';
import type { TopicRouter } from './topic-router.ts';

/**
 * Live consumption of every connector's topics in one consumer group. Per fetched batch (one topic
 * partition), messages are applied in chunks, each chunk in one database transaction with its position
 * (apply-batch.ts); only then is the Kafka offset committed. A crash in between leads to redelivery, which the
 * stored position turns into a no-op.
 */
export type ConnectorConsumer = { stop(): Promise<void>; isRunning(): boolean };

const chunkSize = 500;

export async function startConnectorConsumer(opts: {
  kafka: KafkaClient;
  orm: MikroORM;
  router: TopicRouter;
  groupId: string;
  deps: SyncDeps;
  logger: Logger;
}): Promise<ConnectorConsumer> {
  const { kafka, orm, router, groupId, deps, logger } = opts;
  await ensureTopics(kafka, router.streamTopics);
  const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
  let running = false;
  consumer.on(consumer.events.CRASH, (e) => logger.error('kafka consumer crashed', { error: e.payload.error, restart: e.payload.restart }));
  await consumer.connect();
  await consumer.subscribe({ topics: router.streamTopics, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const route = router.route(batch.topic);
      if (!route) throw new Error(`no connector for topic ${batch.topic}`);
      const messages: SourceMessage[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        timestamp: m.timestamp ?? null,
      }));
      for (let i = 0; i < messages.length; i += chunkSize) {
        if (!isRunning() || isStale()) return;
        const chunk = messages.slice(i, i + chunkSize);
        const started = performance.now();
        const result = await applyBatch(orm, groupId, route, batch.partition, chunk, deps);
        maybeCrash('after-apply');
        const last = chunk[chunk.length - 1];
        if (last) {
          resolveOffset(last.offset);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
        }
        logger.debug('batch applied', { connector: route.connector.manifest.id, topic: batch.topic, partition: batch.partition, ms: Math.round(performance.now() - started), ...result });
        if (result.quarantined > 0) logger.warn('messages quarantined', { topic: batch.topic, partition: batch.partition, count: result.quarantined });
        await heartbeat();
      }
    },
  });
  running = true;
  return {
    isRunning: () => running,
    async stop() {
      running = false;
      await consumer.disconnect(); // waits for the batch in hand to finish
    },
  };
}
