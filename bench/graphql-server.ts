import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One GraphQL server of the GraphQL benchmark (bench/graphql.bench.ts), run as a child process so that each
 * server is measured alone with the same CPU:
 *   node bench/graphql-server.ts hub           — the real hub (startHub) on DATABASE_URL, no Kafka, with a
 *                                               signed CHANNEL_APP token;
 *   node bench/graphql-server.ts postgraphile  — PostGraphile 5 (Amber preset, simplify-inflection) served by
 *                                               grafserv's Node adapter on the same database, read-only.
 * Prints one JSON line `{"url", "token"}` on stdout once it is up and stops on SIGTERM (or when stdin closes).
 */
const which = process.argv[2];
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || (which !== 'hub' && which !== 'postgraphile'))
  throw new Error('usage: DATABASE_URL=… node bench/graphql-server.ts hub|postgraphile');
/** The same pool size for both (the hub's default DB_POOL_MAX). */
export const poolMax = 10;

const ready = (url: string, token: string | null) => process.stdout.write(`${JSON.stringify({ url, token })}\n`);
let stop: () => Promise<void> = async () => {};
const shutdown = () =>
  void stop().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    },
  );
process.once('SIGTERM', shutdown);
process.stdin.on('end', shutdown).resume();

if (which === 'hub') {
  const { loadConfig } = await import('../src/config/config.ts');
  const { createLogger } = await import('../src/config/logger.ts');
  const { signToken } = await import('../src/auth/viewer.ts');
  const { startHub } = await import('../src/runtime/hub.ts');
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HUB_JWT_SECRET: 'bench-secret-bench-secret-bench-secret-00',
    HUB_DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-bench-graphql-')),
    LOG_LEVEL: 'error',
    DB_POOL_MAX: String(poolMax),
    // Phone search is rate limited per caller (default 120 a minute); raised to the maximum for the bench only.
    HUB_SEARCH_RATE_PER_MINUTE: process.env.HUB_SEARCH_RATE_PER_MINUTE ?? '100000',
    // The statement count per request (x-sql-statements), which the benchmark prints; counted either way.
    HUB_SQL_STATEMENTS_HEADER: '1',
    // bench:scale measures reads on a store at rest: it turns off the programme worker (whose first refresh would
    // value every customer) and the scheduled resolution pass. Unset, both keep the hub's defaults.
    ...(process.env.HUB_PROGRAMME ? { HUB_PROGRAMME: process.env.HUB_PROGRAMME } : {}),
    ...(process.env.HUB_RESOLVE_INTERVAL_SECONDS
      ? { HUB_RESOLVE_INTERVAL_SECONDS: process.env.HUB_RESOLVE_INTERVAL_SECONDS }
      : {}),
  });
  const hub = await startHub(config, { demo: false, logger: createLogger(config.logLevel) });
  stop = () => hub.stop();
  ready(hub.url, await signToken(hub.tokens, 'bench-channel-app', ['CHANNEL_APP']));
} else {
  const { postgraphile } = await import('postgraphile');
  const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
  const { PgSimplifyInflectionPreset } = await import('@graphile/simplify-inflection');
  const { makePgService } = await import('postgraphile/adaptors/pg');
  const { grafserv } = await import('postgraphile/grafserv/node');
  const { jsonPgSmartTags } = await import('postgraphile/utils');
  // The hub joins roles to customers and policies on natural keys without foreign keys; these virtual foreign
  // keys give PostGraphile the same relations (source_record and policy are unique on those columns). PostGraphile
  // offers conditions only on indexed columns by default: the filters the hub applies (live rows, current roles,
  // phone search key — indexed there by a partial index, which PostGraphile ignores) are enabled explicitly.
  const filterBy = { tags: { behavior: '+filterBy' } };
  const relations = jsonPgSmartTags({
    version: 1,
    config: {
      class: {
        policy_role: {
          tags: {
            foreignKey: [
              '(system, client_source_id) references source_record (system, source_id)|@fieldName sourceRecord|@foreignFieldName policyRoles',
              '(system, policy_no) references policy (system, policy_no)|@fieldName policy|@foreignFieldName participants',
            ],
          },
          attribute: { deleted: filterBy, current: filterBy },
        },
        policy_cover: {
          tags: { foreignKey: '(system, policy_no) references policy (system, policy_no)|@foreignFieldName covers' },
          attribute: { deleted: filterBy },
        },
        source_record: { attribute: { deleted: filterBy } },
        contact_point: { attribute: { search_key: filterBy } },
      },
    },
  });
  const url = new URL(databaseUrl);
  // Read-only sessions: PostGraphile only reads here.
  url.searchParams.set('options', '-c default_transaction_read_only=on');
  const pgl = postgraphile({
    extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
    plugins: [relations],
    pgServices: [
      makePgService({ connectionString: url.toString(), schemas: ['public'], poolConfig: { max: poolMax } }),
    ],
    schema: { defaultBehavior: '-insert -update -delete' },
    grafserv: { graphqlPath: '/graphql', graphiql: false },
    grafast: { explain: false },
  });
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  // Build the schema before reporting ready, so the first measured request does not pay for it.
  await pgl.getSchema();
  stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Releasing the server releases the PostGraphile instance (and its pool) with it.
    await serv.release();
  };
  ready(`http://127.0.0.1:${address.port}/graphql`, null);
}
