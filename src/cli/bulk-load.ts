import type { HubConfig } from '../config/config.ts';
import { ConfigError } from '../config/config.ts';
import type { Logger } from '../config/logger.ts';
import { migrate, openOrm } from '../db/orm.ts';
import { connectorById, connectors } from '../connectors/registry.ts';
import { parseArgs } from 'node:util';
import { bulkLoadFromKafka } from '../ingest/bulk-load-kafka.ts';
import { fileSource } from '../ingest/file-import.ts';
import { TopicRouter } from '../ingest/topic-router.ts';
import { createKafka } from '../messaging/kafka.ts';
import { ingestDepsFor, wireFormatFor } from '../runtime/hub.ts';

/**
 * `npm run hub -- bulk-load`: the initial load of an empty store from the source topics (src/ingest/bulk-load-kafka.ts).
 * Risk and the customer programme are queued for every new golden record and settled by the hub's workers once it
 * starts (disable alert rules with holds during the load if the sources arrive far apart; see docs/operations.md).
 */
export async function bulkLoadCommand(config: HubConfig, logger: Logger, args: string[] = []): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { file: { type: 'string', multiple: true }, encoding: { type: 'string', default: 'gbk' } },
  });
  // --file CONNECTOR=PATH: a batch file (a bank's sales file) loaded with the topics, in the same transaction.
  const fileArgs = (values.file ?? []).map((f) => {
    const at = f.indexOf('=');
    if (at <= 0 || at === f.length - 1) throw new ConfigError(`--file takes CONNECTOR=PATH (got "${f}")`);
    return { connector: connectorById(f.slice(0, at)), path: f.slice(at + 1) };
  });
  if (!config.kafkaBrokers) throw new ConfigError('KAFKA_BROKERS must be set for a bulk load from the source topics');
  if (!config.databaseUrl)
    throw new ConfigError(
      'the bulk load writes with COPY into PostgreSQL: set DATABASE_URL (not for the embedded default)',
    );
  const orm = await openOrm(config.databaseUrl, { poolMax: 2, applicationName: 'hub-bulk-load' });
  try {
    await migrate(orm);
    const r = await bulkLoadFromKafka({
      kafka: createKafka(config.kafkaBrokers, config.kafkaClientId, logger),
      orm,
      router: new TopicRouter(connectors, config.kafkaTopicPrefix),
      groupId: config.kafkaGroupId,
      deps: ingestDepsFor(config.kafkaTopicPrefix, 'queue', config.programme),
      logger,
      wireFormat: wireFormatFor(config),
      files: await Promise.all(
        fileArgs.map((f) => fileSource(f.connector, f.path, { encoding: values.encoding ?? 'gbk' })),
      ),
    });
    const phases = Object.entries(r.phases)
      .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
      .join(', ');
    process.stdout.write(
      `bulk load: ${r.messages} messages in ${r.seconds.toFixed(1)} s (${Math.round(r.messages / r.seconds)}/s) → ${r.records} source records in ${r.parties} golden records (${r.tombstones} deleted, ${r.reviews} possible matches for review), ${r.facts} facts, ${r.quarantined} quarantined; ${phases}\n` +
        `positions stored for ${r.positions.filter((p) => p.consumerGroup === config.kafkaGroupId).length} partitions` +
        `${r.groupOffsetsSet ? ` and set as the Kafka offsets of group ${config.kafkaGroupId}` : ' (Kafka offsets of the live group NOT set: members were running; the stored positions still apply)'}` +
        `${fileArgs.length > 0 ? `; ${fileArgs.length} batch files loaded, their positions kept as \`hub import\` keeps them (importing one again skips every line)` : ''}\n`,
    );
    for (const q of r.rejected) process.stdout.write(`  ${q.topic} @ ${q.offset}: ${q.code}: ${q.reason}\n`);
    return r.quarantined > 0 ? 3 : 0;
  } finally {
    await orm.close(true);
  }
}
