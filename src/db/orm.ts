import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { CompiledQuery, type DatabaseConnection } from 'kysely';
import { fileURLToPath } from 'node:url';
import { allEntities } from '../model/index.ts';
import { CountingLogger } from './query-stats.ts';
import { preparePooledStatements } from './prepared.ts';
import { trackPooledClients } from './copy.ts';

export type { EntityManager };
export type Orm = MikroORM;

const migrationsPath = fileURLToPath(new URL('../../migrations', import.meta.url));

export function ormOptions(clientUrl: string, opts: { poolMax: number; printQueries?: boolean }): Options {
  return {
    clientUrl,
    entities: allEntities,
    extensions: [Migrator],
    pool: { min: 0, max: opts.poolMax, idleTimeoutMillis: 10_000 },
    // No JIT compilation on the hub's sessions. Its statements are short lookups and writes keyed by VALUES
    // lists, whose row estimates make their cost look large: PostgreSQL then spent 20–90 ms compiling a
    // statement that runs in 10 (measured on the bank-account network lookup; bench:ingest, HUB_SQL_PROFILE=1).
    onCreateConnection: async (connection) => {
      await (connection as DatabaseConnection).executeQuery(CompiledQuery.raw('set jit = off'));
    },
    // The read path's fixed statements go out as named prepared statements (prepared.ts); the bulk load finds
    // its transaction's client for COPY (copy.ts).
    driverOptions: {
      onPoolCreated: (pool: import('pg').Pool) => {
        preparePooledStatements(pool);
        trackPooledClients(pool);
      },
    },
    debug: ['query'],
    loggerFactory: (options) => new CountingLogger(options, opts.printQueries ?? false),
    migrations: {
      path: migrationsPath,
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // The hub writes through explicit transactions; nothing should be flushed implicitly.
    allowGlobalContext: false,
  };
}

export async function openOrm(clientUrl: string, opts: { poolMax: number; printQueries?: boolean }): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, opts));
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
