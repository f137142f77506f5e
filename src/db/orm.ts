import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { CompiledQuery, type DatabaseConnection } from 'kysely';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { allEntities } from '../model/index.ts';
import { CountingLogger } from './query-stats.ts';
import { preparePooledStatements } from './prepared.ts';
import { trackPooledClients } from './copy.ts';

export type { EntityManager };
export type Orm = MikroORM;

const migrationsPath = fileURLToPath(new URL('../../migrations', import.meta.url));

export type OrmOptions = {
  poolMax: number;
  printQueries?: boolean;
  /**
   * What the pool's sessions call themselves to PostgreSQL (`application_name`: pg_stat_activity, the server's log
   * with `%a`): `hub` for ingest, the outbox and mutations (and the risk and programme workers where they share that
   * pool: on the embedded database, or with HUB_WORKERS_THREAD=0), `hub-workers` for the workers' thread, `hub-read`
   * for the GraphQL read pool (read-pool.ts), `hub-cli` and `hub-bulk-load` for the commands. With PGAPPNAME set
   * (e.g. an instance's name), it comes first: `eu-1 hub-read`.
   */
  applicationName?: string;
};

/** A pool's session name, after PGAPPNAME when the deployment sets one. */
export function sessionName(role: string): string {
  const instance = process.env.PGAPPNAME?.trim();
  return (instance ? `${instance} ${role}` : role).slice(0, 63);
}

export function ormOptions(clientUrl: string, opts: OrmOptions): Options {
  const applicationName = sessionName(opts.applicationName ?? 'hub');
  return {
    clientUrl,
    entities: allEntities,
    extensions: [Migrator],
    // A connection, once opened, stays (pg-pool closes idle clients only above `min`), as on the read pool
    // (read-pool.ts): ingest's traffic comes in bursts, and with the 10 s idle timeout the quiet between two
    // closed the sessions, so the next burst's first transactions paid for new backends — catalog caches loaded
    // and every prepared statement planned again. Idle sessions cost the server a backend each (dbPoolMax of them).
    pool: { min: opts.poolMax, max: opts.poolMax, idleTimeoutMillis: 10_000 },
    // No JIT compilation on the hub's sessions. Its statements are short lookups and writes keyed by VALUES
    // lists, whose row estimates make their cost look large: PostgreSQL then spent 20–90 ms compiling a
    // statement that runs in 10 (measured on the bank-account network lookup; bench:ingest, HUB_SQL_PROFILE=1).
    onCreateConnection: async (connection) => {
      await (connection as DatabaseConnection).executeQuery(
        CompiledQuery.raw(`select set_config('jit', 'off', false), set_config('application_name', $1, false)`, [
          applicationName,
        ]),
      );
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
      // Each migration in a transaction of its own, not all of them in one: a fresh database's 29 migrations in
      // one transaction held ~630 locks until the end (~150 at most now), each a slot in the server's shared lock
      // table (64 × max_connections by default) — with a few databases migrating at once on one server (the test
      // suite), other sessions failed with "out of shared memory". A failed migration still rolls back whole,
      // and the ones before it stay applied, as recorded.
      transactional: true,
      allOrNothing: false,
      snapshot: false,
      silent: true,
    },
    // The hub writes through explicit transactions; nothing should be flushed implicitly.
    allowGlobalContext: false,
  };
}

/**
 * Closes the ORM's pool, waiting at most `ms`: after the database dropped connections mid-transaction a pooled client
 * can stay checked out (seen in tests/integration/restarts.test.ts), and closing would wait for it forever. True if
 * the pool closed in time.
 */
export async function closeWithin(orm: MikroORM, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      orm.close(true).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function openOrm(clientUrl: string, opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, opts));
}

/** The advisory lock that serialises migrations between processes (any constant the hub uses for nothing else). */
const migrationLockKey = 0x68_75_62_6d; // 'hubm'

/**
 * Applies pending migrations; returns the names applied. Instances of a deployment start at once and each
 * migrates at start: without a lock two of them ran the same migrations in their own transactions and all but one
 * failed (a duplicate `pg_trgm` extension, `mikro_orm_migrations` created twice — found by the soak, and a data
 * migration could have run twice). The first takes a session advisory lock on a connection of its own and
 * migrates; the others wait for it and then find nothing pending. (On the embedded database the lock connection
 * is a second socket to the same single session: the lock is re-entrant there, so it never blocks.)
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [migrationLockKey]);
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await lock.query('select pg_advisory_unlock($1)', [migrationLockKey]).catch(() => {});
    await lock.end().catch(() => {});
  }
}
