import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { HubConfig } from '../config/config.ts';
import { createLogger, type Logger } from '../config/logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.ts';
import { closeWithin, migrate, openOrm } from '../db/orm.ts';
import { connectors } from '../connectors/registry.ts';
import { TopicRouter } from '../ingest/topic-router.ts';
import { stallOnStop } from '../ingest/fault-injection.ts';
import { ingestBatch } from '../ingest/batch-source.ts';
import { createKafka } from '../messaging/kafka.ts';
import { confluentAvroFormat, plainFormat, type WireFormat } from '../ingest/wire-format.ts';
import { ConfigError } from '../config/config.ts';
import { startConnectorConsumer, type ConnectorConsumer } from '../ingest/kafka-consumer.ts';
import { createProbabilisticMatcher } from '../sync/match/probabilistic.matcher.ts';
import { resolvePass } from '../sync/resolve.ts';
import { customerEventsTopic } from '../sync/customer-events.ts';
import { OversizedBlocks } from '../sync/match/oversized-blocks.ts';
import type { FollowUp, IngestDeps } from '../ingest/apply-batch.ts';
import { programmeFollowUp } from '../programme/programme-work.ts';
import {
  type BackgroundWorkers,
  startBackgroundWorkers,
  startWorkerThread,
  type WorkerSettings,
} from './background-workers.ts';
import { startOutboxPublisher, type OutboxPublisher } from '../risk/outbox.ts';
import { riskFollowUp } from '../risk/risk-work.ts';
import { signToken, tokenSettings, type TokenSettings } from '../auth/viewer.ts';
import { loadTrustedDocuments } from '../resolvers/trusted-documents.ts';
import { startServer, type HubServer } from '../resolvers/http-server.ts';
import { generateCorePolicyDemo } from '../demo/generate-core-policy.ts';
import { generateChannelDemo } from '../demo/generate-channels.ts';

/**
 * Composition root: wires store → ingest → sync → GraphQL from the configuration. The CLI and the tests start
 * the hub through here, so both exercise the same assembly.
 */
export type RunningHub = {
  url: string;
  orm: MikroORM;
  databaseUrl: string;
  embedded: boolean;
  liveConsumption: boolean;
  /** A development token with every role, only when the hub runs on a development signing secret. */
  devToken: string | null;
  tokens: TokenSettings;
  /** Stops everything; with `deadlineMs`, gives up waiting on parts once that much time has passed. Idempotent. */
  stop(deadlineMs?: number): Promise<void>;
};

const matcher = createProbabilisticMatcher({ modelFile: process.env.HUB_MATCH_MODEL || undefined });

/**
 * What follows each ingest transaction, in it: risk, then the customer programme (values, segments, follow-ups)
 * unless it is switched off (HUB_PROGRAMME=0). Each is queued for its own worker (`queue`, streaming) or settled
 * in the transaction (`settle`, file and demo loads). Risk and the programme are siblings that do not know each
 * other or ingest; this is where they meet.
 */
export function followUpsFor(mode: 'queue' | 'settle', topicPrefix = '', programme = true): FollowUp {
  const risk = riskFollowUp(mode, topicPrefix);
  if (!programme) return risk;
  return composeFollowUps([risk, programmeFollowUp(mode)]);
}

/** Several follow-ups run one after another on the same transaction, timed together under their joined names. */
export function composeFollowUps(list: readonly FollowUp[]): FollowUp {
  return {
    phase: list.map((f) => f.phase).join('+'),
    async run(em, changed) {
      for (const f of list) await f.run(em, changed);
    },
  };
}

/** Ingest with the shared matcher whose follow-ups are settled in each transaction (tests, imports). */
export const ingestDeps: IngestDeps = { matcher, followUp: followUpsFor('settle') };

/**
 * Dependencies of one running ingest (a hub, a replay, an import): the shared matcher, its own memory of
 * oversized blocks, and what follows each transaction — here ingest meets risk: streaming ingest (`queue`)
 * queues the risk follow-up for the risk worker; file imports, demo loads and replays (`settle`) settle it in
 * the transaction, so that they are complete when they return.
 */
export function ingestDepsFor(topicPrefix = '', mode: 'queue' | 'settle' = 'settle', programme = true): IngestDeps {
  return { matcher, oversized: new OversizedBlocks(), followUp: followUpsFor(mode, topicPrefix, programme) };
}

export async function startHub(config: HubConfig, opts: { demo: boolean; logger?: Logger }): Promise<RunningHub> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const cleanups: { name: string; run: () => Promise<void> }[] = [];
  /**
   * Stops the parts in reverse order of starting: HTTP first (in-flight requests drain), then the consumer (the
   * transaction in hand commits with its positions, or is abandoned and redelivered), the risk worker, the
   * outbox, the pool, the embedded database. With a deadline, a part still stopping when the time is up is
   * abandoned with a warning so the process can exit on time: nothing is lost, as effects and positions commit
   * together or not at all.
   */
  let stopped: Promise<void> | null = null;
  const stopAll = (deadlineMs = Number.POSITIVE_INFINITY): Promise<void> => {
    stopped ??= (async () => {
      const deadline = performance.now() + deadlineMs;
      for (const cleanup of cleanups.reverse()) {
        const started = performance.now();
        const left = deadline - started;
        if (left <= 0) {
          logger.warn('shutdown deadline reached; not waiting for the rest', { part: cleanup.name });
          break;
        }
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          if (Number.isFinite(left)) timer = setTimeout(() => resolve('timeout'), left);
        });
        try {
          const outcome = await Promise.race([cleanup.run().then(() => 'done' as const), timedOut]);
          if (outcome === 'timeout') logger.warn('part did not stop in time; abandoned', { part: cleanup.name });
          else logger.debug('stopped', { part: cleanup.name, ms: Math.round(performance.now() - started) });
        } catch (e) {
          logger.warn('error during shutdown', { part: cleanup.name, error: e });
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return stopped;
  };
  try {
    let embedded: EmbeddedPostgres | null = null;
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
      cleanups.push({ name: 'embedded database', run: () => embedded!.stop() });
      databaseUrl = embedded.url;
      logger.info('embedded PostgreSQL (PGlite) started', { dataDir: embedded.dataDir });
    }
    // PGlite is one session: one pooled connection keeps transactions from interleaving (db/embedded-postgres.ts).
    const orm = await openOrm(databaseUrl, { poolMax: embedded ? 1 : config.dbPoolMax });
    // Bounded (closeWithin): a client the database dropped mid-transaction can stay checked out.
    cleanups.push({
      name: 'database pool',
      run: async () => {
        if (!(await closeWithin(orm, 10_000)))
          logger.warn(
            'database pool did not close within 10 s (a connection is still checked out); continuing shutdown',
          );
      },
    });
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info('migrations applied', { migrations: applied });

    const { tokens, development } = loadTokenSettings(config, logger);
    const router = new TopicRouter(connectors, config.kafkaTopicPrefix);
    const deps = {
      ...ingestDepsFor(config.kafkaTopicPrefix, 'settle', config.programme),
      maxKeyLocks: config.ingestMaxKeyLocks,
    };

    if (opts.demo && !config.kafkaBrokers) {
      const started = performance.now();
      const result = await ingestBatch(
        orm,
        router,
        'demo',
        [...generateCorePolicyDemo({}), ...generateChannelDemo()].map((m) => ({
          ...m,
          topic: `${config.kafkaTopicPrefix}${m.topic}`,
        })),
        deps,
      );
      logger.info('demo data loaded through the connector batch path', {
        ms: Math.round(performance.now() - started),
        ...result,
      });
    }

    let consumer: ConnectorConsumer | null = null;
    let outbox: OutboxPublisher | null = null;
    // The outbox publisher sends the golden-record change events after each ingest commit and the alert changes
    // after each risk round.
    let workers: BackgroundWorkers | null = null;
    // The risk and programme workers settle what ingest queued (and the re-evaluations due at the end of alert
    // holds, which demo and file loads and steward merges queue too — so they run without a broker as well); after
    // each risk round the outbox publisher sends the alert changes. On PostgreSQL on a thread of their own. Started
    // before the consumer, so that its first commit's backlog report reaches them (a catch-up's rounds are put off
    // from the start), and after the outbox publisher, so that they stop before it.
    const startWorkers = async (): Promise<BackgroundWorkers> => {
      const settings: WorkerSettings = {
        topicPrefix: config.kafkaTopicPrefix,
        riskRoundMs: config.riskRoundMs,
        riskRoundMaxMs: config.riskRoundMaxMs,
        programme: config.programme,
        programmeRoundMs: config.programmeRoundMs,
        programmeRefreshHours: config.programmeRefreshHours,
      };
      const afterRiskRound = () => void outbox?.drain();
      const started =
        embedded || !config.workersThread
          ? startBackgroundWorkers(orm, settings, logger, afterRiskRound)
          : await startWorkerThread(databaseUrl, settings, logger, afterRiskRound);
      // Stopped in reverse: the consumer first (its transaction in hand finishes and queues its risk work), then
      // the workers (their rounds finish), then the outbox publisher (the last alert changes go out).
      cleanups.push({ name: 'risk and programme workers', run: () => started.stop() });
      return started;
    };
    if (config.kafkaBrokers) {
      const kafka = createKafka(config.kafkaBrokers, config.kafkaClientId, logger);
      outbox = await startOutboxPublisher({
        kafka,
        orm,
        logger,
        topics: [`${config.kafkaTopicPrefix}hub.risk-alerts.v1`, `${config.kafkaTopicPrefix}${customerEventsTopic}`],
        routing: { topicPrefix: config.kafkaTopicPrefix, logicalTopics: [customerEventsTopic] },
        retentionDays: config.outboxRetentionDays,
      });
      const publisher = outbox;
      cleanups.push({ name: 'outbox publisher', run: () => publisher.stop() });
      workers = await startWorkers();
      // PGlite has one session, so one partition at a time there; on PostgreSQL partitions are applied in parallel
      // (identity resolution serialises on advisory locks of the blocking keys, src/sync/identity.ts).
      const concurrency = embedded ? 1 : Math.min(config.ingestConcurrency, Math.max(1, config.dbPoolMax - 2));
      consumer = await startConnectorConsumer({
        kafka,
        orm,
        router,
        groupId: config.kafkaGroupId,
        deps: {
          ...ingestDepsFor(config.kafkaTopicPrefix, 'queue', config.programme),
          maxMessageBytes: config.maxMessageBytes,
          // The budget is the hub's: its concurrent ingest transactions share it.
          maxKeyLocks: Math.max(1, Math.floor(config.ingestMaxKeyLocks / concurrency)),
        },
        logger,
        concurrency,
        // Golden-record change events leave right after the transaction that wrote them.
        // The workers put their rounds off while a backlog is applied (src/db/worker-rounds.ts).
        afterCommit: (waiting) => {
          workers?.wake(waiting);
          void outbox?.drain();
        },
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        wireFormat: wireFormatFor(config),
      });
      logger.info('live consumption on', {
        brokers: config.kafkaBrokers,
        topics: router.streamTopics,
        group: config.kafkaGroupId,
      });
    } else {
      logger.info('live consumption off: KAFKA_BROKERS is not set');
    }
    const background = workers ?? (await startWorkers());
    if (config.resolveIntervalSeconds > 0) {
      const resolver = startResolutionSchedule(orm, config, logger, () => background.wake());
      cleanups.push({ name: 'resolution pass', run: () => resolver.stop() });
    }
    if (consumer) {
      const running = consumer;
      cleanups.push({ name: 'kafka consumer', run: () => running.stop() });
    }

    // The all-roles token of the embedded default's development secret (printed at start, filled in GraphiQL).
    const mintDevToken = development
      ? () =>
          signToken(tokens, 'dev-user', [
            'CHANNEL_APP',
            'UNDERWRITER',
            'RISK_ADMIN',
            'DATA_STEWARD',
            'INTEGRATION_ADMIN',
          ])
      : null;
    const server: HubServer = await startServer({
      orm,
      snapshotReads: !embedded,
      limits: config.queryLimits,
      development: config.development,
      graphiql: config.development ? { devToken: mintDevToken } : undefined,
      federation: config.federation,
      sqlStatementsHeader: config.sqlStatementsHeader,
      auditRetentionDays: config.auditRetentionDays,
      trustedDocuments: config.trustedDocumentsFile ? loadTrustedDocuments(config.trustedDocumentsFile) : undefined,
      suppressionLimitDays: config.suppressionLimitDays,
      maxSuppressionDays: config.maxSuppressionDays,
      host: config.host,
      port: config.port,
      tokens,
      logger,
      readiness: async () => {
        const checks: Record<string, string> = {};
        try {
          await orm.em.fork().execute('select 1');
          checks.database = 'ok';
        } catch (e) {
          checks.database = `unavailable: ${(e as Error).message}`;
        }
        checks.kafka = consumer === null ? 'off' : consumer.isRunning() ? 'ok' : 'stopped';
        return { ready: checks.database === 'ok' && checks.kafka !== 'stopped', checks };
      },
    });
    // Stop taking requests before the consumer and the database go away.
    cleanups.push({ name: 'http server', run: () => server.stop() });
    cleanups.push({ name: 'fault injection', run: stallOnStop });

    return {
      url: server.url,
      orm,
      databaseUrl,
      embedded: embedded !== null,
      liveConsumption: consumer !== null,
      devToken: mintDevToken ? await mintDevToken() : null,
      tokens,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * Tokens are verified with HUB_JWT_SECRET. Only the embedded default may run without it: then a development
 * secret kept in the data folder (so printed tokens survive restarts) signs the all-roles token printed at
 * start. Against a real database the secret is required — a development token there would open real data.
 */
/**
 * The resolution pass on a schedule (src/sync/resolve.ts; one hub instance at a time), its changes queued for
 * the risk worker like an ingest transaction's.
 */
function startResolutionSchedule(orm: MikroORM, config: HubConfig, logger: Logger, afterChange: () => void) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const queue = followUpsFor('queue', config.kafkaTopicPrefix, config.programme);
  const run = async () => {
    const r = await resolvePass(orm, matcher, (tx, changed) => queue.run(tx, changed));
    if (r.moved > 0) {
      logger.info('resolution pass repaired golden records', r);
      afterChange();
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run()
        .catch((e: unknown) => logger.warn('resolution pass failed; retried at the next interval', { error: e }))
        .finally(schedule);
    }, config.resolveIntervalSeconds * 1000);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export function loadTokenSettings(config: HubConfig, logger: Logger): { tokens: TokenSettings; development: boolean } {
  const settings = (secret: string) =>
    tokenSettings(secret, config.jwtIssuer, config.jwtAudience, config.jwtMaxLifetimeSeconds);
  if (config.jwtSecret) return { tokens: settings(config.jwtSecret), development: false };
  if (config.databaseUrl !== undefined)
    throw new ConfigError(
      'HUB_JWT_SECRET is required with DATABASE_URL (the development token is only for the embedded default)',
    );
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'dev-jwt-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  logger.warn('HUB_JWT_SECRET is not set: using a development signing secret; do not use in production', { file });
  return { tokens: settings(readFileSync(file, 'utf8').trim()), development: true };
}

/** The wire formats configured per connector (`AVRO_CONNECTORS`, `SCHEMA_REGISTRY_URL`); unknown ids stop the hub. */
export function wireFormatFor(config: HubConfig): WireFormat {
  const unknown = config.avroConnectors.filter((id) => !connectors.some((c) => c.manifest.id === id));
  if (unknown.length > 0)
    throw new ConfigError(
      `AVRO_CONNECTORS names unknown connectors: ${unknown.join(', ')} (known: ${connectors.map((c) => c.manifest.id).join(', ')})`,
    );
  return config.schemaRegistryUrl && config.avroConnectors.length > 0
    ? confluentAvroFormat(config.schemaRegistryUrl, config.avroConnectors)
    : plainFormat;
}
