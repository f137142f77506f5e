import './node-env.ts';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type HubConfig } from '../config/config.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createLogger } from '../config/logger.ts';
import { startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { migrate, openOrm } from '../db/orm.ts';
import { signToken, tokenSettings, roles, type Role, verifyBearer } from '../auth/viewer.ts';
import { mayDo } from '../auth/access-policy.ts';
import { startHub } from '../runtime/hub.ts';
import { createKafka, ensureTopics, publish } from '../messaging/kafka.ts';
import { connectorById, connectors } from '../connectors/registry.ts';
import { importFile } from '../ingest/file-import.ts';
import { replayConnector } from '../ingest/replay.ts';
import { rescanAll } from '../risk/rescan.ts';
import { resolvePass } from '../sync/resolve.ts';
import { importListFile } from '../risk/list-import.ts';
import { ingestDepsFor, loadTokenSettings, wireFormatFor } from '../runtime/hub.ts';
import { TopicRouter } from '../ingest/topic-router.ts';
import { DEMO_CUSTOMER, generateCorePolicyDemo } from '../demo/generate-core-policy.ts';
import { matchFileCommand } from './match-file.ts';
import { generateChannelDemo } from '../demo/generate-channels.ts';
import { scaffoldConnector } from './connector-scaffold.ts';
import { fileURLToPath } from 'node:url';
import { rightsCommand } from './rights.ts';
import { bulkLoadCommand } from './bulk-load.ts';
import { warmRelations, WarmUnavailableError } from '../db/warm.ts';
import { servingTables } from '../services/serving-tables.ts';

/**
 * `npm run hub -- <command>`:
 *   start [--demo]           start the hub (npm start = start --demo)
 *   migrate                  apply pending database migrations and exit
 *   token --role R [--role R…] [--subject S]   mint a bearer token (needs HUB_JWT_SECRET)
 *   demo publish             publish the demo data set to the core-policy topics on KAFKA_BROKERS
 */
const usage = `usage: npm run hub -- <command>
  start [--demo]                         start the hub (GraphQL, live consumption when KAFKA_BROKERS is set)
  migrate                                apply pending database migrations and exit
  token --role ROLE [--role ROLE] [--subject NAME]
                                         print a bearer token (needs HUB_JWT_SECRET); roles: ${roles.join(', ')}
  demo publish                           publish the demo data set to the core-policy topics on KAFKA_BROKERS
  replay --connector NAME (--from-beginning | --from ISO-TIME)
                                         re-read one connector's topics (own consumer group; others untouched)
  bulk-load [--file CONNECTOR=PATH …] [--encoding gbk]
                                         initial load of an empty store from the source topics and batch files
                                         (COPY, set-based matching); streaming takes over from the positions it stores
  import CONNECTOR FILE [--encoding gbk]   load a batch file through a connector's mapping (e.g. bancassurance)
  blacklist import FILE [--token JWT] [--encoding utf-8]   (the token, or HUB_TOKEN, names the proposer)
                                         propose a list file's entries as one batch (bad rows reported by line)
  warm [--max-mb N]                       read the serving tables and indexes into the database server's cache (after a
                                         bulk load or a server restart; pg_prewarm; budget: effective_cache_size)
  risk rescan                             re-screen and re-evaluate alert rules for every active customer
  resolve [--full]                        re-cluster golden records touched since the last pass (or all), repairing
                                         what arrival order decided differently (also scheduled in the hub)
  subject-access CUSTOMER_ID --out FILE.json [--reason TEXT] [--token JWT]
                                         export everything held about a person, with sources (a data steward's token, or HUB_TOKEN)
  erase CUSTOMER_ID --reason TEXT [--token JWT]   request an erasure (a data steward); prints the request id
  erase --approve REQUEST_ID [--token JWT]        a second data steward approves: the person is erased
  connector new NAME                      scaffold a connector folder (see docs/connectors.md)
  match-file --source NAME=PATH [--source …] --mapping FILE.json --out FILE.csv [--link-only]
                                         run the matching engine over CSV files`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'match-file') return matchFileCommand(rest); // offline: needs no configuration
  if (command === 'connector') {
    if (rest[0] !== 'new' || !rest[1]) throw new ConfigError('usage: npm run hub -- connector new NAME');
    const written = scaffoldConnector(rest[1], fileURLToPath(new URL('../..', import.meta.url)));
    process.stdout.write(
      `created:\n${written.map((f) => `  ${f}`).join('\n')}\nnext: adapt the mapping and fixtures, then run: npx vitest run tests/conformance  (docs/connectors.md)\n`,
    );
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  switch (command) {
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { demo: { type: 'boolean', default: false } } });
      const hub = await startHub(config, { demo: values.demo ?? false, logger });
      printBanner(hub.url.replace('//127.0.0.1:', '//localhost:'), hub.devToken, hub.embedded, hub.liveConsumption);
      // The hub owns the termination signals (Apollo's own handlers are off, src/resolvers/http-server.ts). The
      // first signal stops cleanly within the shutdown budget — orchestrators send SIGKILL after their grace
      // period (Kubernetes: 30 s) — and a second one exits at once.
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn('second signal: exiting now', { signal });
          process.exit(signal === 'SIGINT' ? 130 : 143);
        }
        stopping = true;
        logger.info('shutting down', { signal, budgetMs: config.shutdownBudgetMs });
        const started = performance.now();
        void hub.stop(config.shutdownBudgetMs).then(
          () => {
            logger.info('stopped', { ms: Math.round(performance.now() - started) });
            process.exit(0);
          },
          (e: unknown) => {
            logger.error('shutdown failed', { error: e });
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      return new Promise(() => {}); // runs until a signal
    }
    case 'migrate': {
      return withStore(config, { poolMax: 1, migrate: false }, async (orm) => {
        const applied = await migrate(orm);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
        return 0;
      });
    }
    case 'token': {
      const { values } = parseArgs({
        args: rest,
        options: { role: { type: 'string', multiple: true }, subject: { type: 'string', default: 'cli-user' } },
      });
      if (!config.jwtSecret)
        throw new ConfigError(
          'HUB_JWT_SECRET must be set to mint tokens (the embedded default prints a development token at start)',
        );
      const wanted = values.role ?? [];
      const bad = wanted.filter((r) => !(roles as readonly string[]).includes(r));
      if (wanted.length === 0 || bad.length > 0)
        throw new ConfigError(
          `--role must be one or more of ${roles.join(', ')}${bad.length ? ` (got ${bad.join(', ')})` : ''}`,
        );
      process.stdout.write(
        `${await signToken(tokenSettings(config.jwtSecret, config.jwtIssuer, config.jwtAudience, config.jwtMaxLifetimeSeconds), values.subject ?? 'cli-user', wanted as Role[])}\n`,
      );
      return 0;
    }
    case 'bulk-load':
      return bulkLoadCommand(config, logger, rest);
    case 'replay': {
      const { values } = parseArgs({
        args: rest,
        options: {
          connector: { type: 'string' },
          'from-beginning': { type: 'boolean', default: false },
          from: { type: 'string' },
        },
      });
      if (!values.connector || values['from-beginning'] === (values.from !== undefined))
        throw new ConfigError('usage: npm run hub -- replay --connector NAME (--from-beginning | --from ISO-TIME)');
      const from = values.from === undefined ? ('beginning' as const) : new Date(values.from);
      if (from !== 'beginning' && Number.isNaN(from.getTime()))
        throw new ConfigError(`--from must be an ISO 8601 time (got ${values.from})`);
      const brokers = config.kafkaBrokers;
      if (!brokers) throw new ConfigError('KAFKA_BROKERS must be set to replay a connector');
      const connector = connectorById(values.connector);
      return withStore(config, { poolMax: 1 }, async (orm) => {
        const report = await replayConnector({
          kafka: createKafka(brokers, config.kafkaClientId, logger),
          orm,
          router: new TopicRouter(connectors, config.kafkaTopicPrefix),
          connector,
          from,
          deps: { ...ingestDepsFor(), maxKeyLocks: config.ingestMaxKeyLocks },
          groupPrefix: config.kafkaGroupId,
          logger,
          wireFormat: wireFormatFor(config),
        });
        process.stdout.write(
          `replayed ${report.messages} messages of ${report.connector}: ${report.applied} changes applied, ${report.stale} already up to date, ${report.quarantined} quarantined\n`,
        );
        return 0;
      });
    }
    case 'blacklist': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { token: { type: 'string' }, encoding: { type: 'string', default: 'utf-8' } },
      });
      const token = values.token ?? process.env.HUB_TOKEN;
      if (positionals[0] !== 'import' || !positionals[1] || !token)
        throw new ConfigError(
          'usage: npm run hub -- blacklist import FILE --token JWT [--encoding utf-8] (or HUB_TOKEN): the proposer is who the token names',
        );
      // Maker–checker needs to know who the maker is: the authenticated identity, not a name typed on the
      // command line (one operator could otherwise be maker and checker).
      const proposer = await verifyBearer(`Bearer ${token}`, loadTokenSettings(config, logger).tokens).catch(
        (e: unknown) => {
          throw new ConfigError(`the token is not accepted: ${(e as Error).message}`);
        },
      );
      if (!mayDo(proposer, 'proposeBlacklist'))
        throw new ConfigError(`${proposer.subject} (${proposer.roles.join(', ')}) may not propose blacklist entries`);
      return withStore(config, { poolMax: 1 }, async (orm) => {
        const result = await orm.em
          .fork()
          .transactional((em) => importListFile(em, positionals[1] as string, proposer.subject, values.encoding));
        process.stdout.write(
          `batch ${result.batchId}: ${result.proposed} entries proposed (awaiting approval by a second risk admin: approveBlacklistBatch), ${result.rejected.length} rows rejected\n`,
        );
        for (const r of result.rejected) process.stdout.write(`  line ${r.line}: ${r.reason}\n`);
        return result.rejected.length > 0 ? 3 : 0;
      });
    }
    case 'subject-access':
    case 'erase':
      return rightsCommand(command, rest, config, logger);
    case 'risk': {
      if (rest[0] !== 'rescan') break;
      return withStore(config, { poolMax: 1 }, async (orm) => {
        const { customers, screened, evaluated, alerts } = await rescanAll(orm, config.kafkaTopicPrefix);
        process.stdout.write(
          `rescanned ${customers} customers (${screened} could have list hits, ${evaluated} could have alerts): ${alerts} alerts opened, updated or closed\n`,
        );
        return 0;
      });
    }
    case 'warm': {
      const { values } = parseArgs({ args: rest, options: { 'max-mb': { type: 'string' } } });
      const budgetMb = values['max-mb'] === undefined ? undefined : Number(values['max-mb']);
      if (budgetMb !== undefined && !(budgetMb > 0)) throw new ConfigError('--max-mb is a positive number');
      return withStore(config, { poolMax: 1 }, async (orm) => {
        try {
          const r = await warmRelations(orm.em.fork(), servingTables, { budgetMb });
          // Relations of a megabyte or more one per line; the many small ones only in the totals.
          for (const w of r.warmed.filter((x) => x.mb >= 1))
            process.stdout.write(`  ${w.relation}: ${w.mb.toFixed(0)} MB in ${(w.ms / 1000).toFixed(1)} s\n`);
          for (const s of r.skipped) process.stdout.write(`  ${s.relation}: ${s.mb.toFixed(1)} MB, over the budget\n`);
          process.stdout.write(
            `warmed ${r.warmed.length} relations, ${r.mb.toFixed(0)} MB of a ${r.budgetMb} MB budget, in ${r.seconds.toFixed(1)} s\n`,
          );
          return 0;
        } catch (e) {
          if (!(e instanceof WarmUnavailableError)) throw e;
          process.stderr.write(`${e.message}: nothing warmed\n`);
          return 3;
        }
      });
    }
    case 'resolve': {
      // The resolution pass (src/sync/resolve.ts) now, over what changed since the last one or, with --full,
      // everything; risk follow-up settled in the same transactions.
      const full = rest.includes('--full');
      return withStore(config, { poolMax: 2 }, async (orm) => {
        const deps = ingestDepsFor(config.kafkaTopicPrefix, 'settle');
        const r = await resolvePass(orm, deps.matcher, (em, changed) => deps.followUp.run(em, changed), { full });
        process.stdout.write(
          `resolution pass: ${r.seeds} golden records touched, ${r.records} records re-clustered; ${r.moved} moved, ${r.merged} golden records merged, ${r.created} created\n`,
        );
        return 0;
      });
    }
    case 'import': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { encoding: { type: 'string', default: 'gbk' } },
      });
      const [connectorId, file] = positionals;
      if (!connectorId || !file) throw new ConfigError('usage: npm run hub -- import CONNECTOR FILE [--encoding gbk]');
      const connector = connectorById(connectorId);
      return withStore(config, { poolMax: 1 }, async (orm) => {
        const deps = { ...ingestDepsFor(), maxKeyLocks: config.ingestMaxKeyLocks };
        const report = await importFile(orm, connector, file, deps, { encoding: values.encoding ?? 'gbk' });
        process.stdout.write(
          `${report.file}: ${report.rows} rows, ${report.applied} changes applied, ${report.stale} unchanged, ${report.skipped} rows already imported, ${report.quarantined} rejected\n`,
        );
        for (const r of report.rejected) process.stdout.write(`  line ${r.offset}: ${r.code}: ${r.reason}\n`);
        return report.quarantined > 0 ? 3 : 0;
      });
    }
    case 'demo': {
      if (rest[0] !== 'publish') break;
      if (!config.kafkaBrokers) throw new ConfigError('KAFKA_BROKERS must be set to publish the demo data');
      const kafka = createKafka(config.kafkaBrokers, config.kafkaClientId, logger);
      const router = new TopicRouter(connectors, config.kafkaTopicPrefix);
      await ensureTopics(kafka, router.streamTopics);
      const messages = [...generateCorePolicyDemo({}), ...generateChannelDemo()].map((m) => ({
        ...m,
        topic: `${config.kafkaTopicPrefix}${m.topic}`,
      }));
      await publish(kafka, messages);
      process.stdout.write(`published ${messages.length} messages to ${router.topics.join(', ')}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${usage}\n`);
      return 0;
  }
  process.stderr.write(`unknown command: ${argv.join(' ')}\n${usage}\n`);
  return 2;
}

function printBanner(url: string, devToken: string | null, embedded: boolean, live: boolean): void {
  const token = devToken ?? '<your token>';
  const query = `{ searchCustomers(query: {phone: \\"+86 138 0013 8000\\"}) { edges { node { id displayName identifiers { type value valid } policies { totalCount edges { node { policyNo status } roles { role } } } activities { edges { node { kind type status occurredAt } } } } } } }`;
  const lines = [
    '',
    `  Customer-data hub is up: GraphQL at ${url}`,
    ...(devToken
      ? [`  GraphiQL (development; the token below is filled in): ${url.replace(/\/graphql$/, '/graphiql')}`]
      : []),
    `  Database: ${embedded ? 'embedded PGlite (set DATABASE_URL to use a PostgreSQL server)' : 'PostgreSQL from DATABASE_URL'}`,
    `  Live consumption: ${live ? "on (consuming the connectors' Kafka topics)" : "off (set KAFKA_BROKERS to consume the connectors' topics); demo data loaded through the batch path"}`,
    '',
    devToken
      ? `  Development token (all roles; valid 12 h):\n    ${devToken}`
      : '  Send a bearer token signed with HUB_JWT_SECRET (npm run hub -- token --role CHANNEL_APP).',
    '',
    `  Try the demo customer ${DEMO_CUSTOMER.name}, who calls from ${DEMO_CUSTOMER.mobile}:`,
    `    curl -s ${url} -H 'content-type: application/json' -H 'authorization: Bearer ${token}' \\`,
    `      -d '{"query":"${query}"}'`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `${e instanceof ConfigError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);

/**
 * A command's store: DATABASE_URL, or the embedded default (started for the command and stopped after it), with
 * the migrations applied unless the command is `migrate` itself; closed whatever the command does.
 */
async function withStore(
  config: HubConfig,
  opts: { poolMax: number; migrate?: boolean },
  work: (orm: MikroORM) => Promise<number>,
): Promise<number> {
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
  const orm = await openOrm(config.databaseUrl ?? (embedded as { url: string }).url, {
    poolMax: opts.poolMax,
    applicationName: 'hub-cli',
  });
  try {
    if (opts.migrate !== false) await migrate(orm);
    return await work(orm);
  } finally {
    await orm.close(true);
    await embedded?.stop();
  }
}
