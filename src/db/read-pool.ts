import pg from 'pg';
import type { CompiledQuery } from 'kysely';
import type { MikroORM } from '@mikro-orm/postgresql';
import { preparePooledStatements } from './prepared.ts';
import { sessionName } from './orm.ts';

/**
 * The GraphQL query operations' own pool: sessions set up for reading once, when each connection opens (startup
 * parameters, no statement), instead of in every query's transaction:
 *   - `default_transaction_read_only`: a query operation never writes;
 *   - `statement_timeout`: no statement of a query runs longer (SQLSTATE 57014, answered as TIMEOUT);
 *   - `plan_cache_mode = force_generic_plan`: the read path's prepared statements (src/db/prepared.ts) run on
 *     their generic plans. Left to choose, PostgreSQL planned the customer 360's statement anew on every request
 *     (~0.8 ms of ~1.7 ms), its custom plans being estimated cheaper than the generic one, which is the same
 *     plan. The read path's parameters are keys (ids, phone keys, flags), whose plans do not depend on the value;
 *     statements with values inlined (MikroORM's) are planned as before;
 *   - `jit = off`, as on the main pool (src/db/orm.ts).
 * So a query known to need one statement sends just that statement, with no transaction around it
 * (src/db/read-snapshot.ts). Ingest, mutations and the workers keep the main pool, whose sessions have none of
 * these settings (a statement timeout or generic plans would not suit their writes).
 * Same server, credentials and type parsers as MikroORM's pool (its `mapOptions`), so rows read here are the
 * rows read there.
 */
export type ReadPool = {
  /** One statement on a pooled connection of its own (what MikroORM and executeBound call on a transaction context). */
  executeQuery(query: CompiledQuery): Promise<ReadResult>;
  /** A pooled connection held until `release`, its statements sent one after the other. */
  connect(): Promise<ReadSession>;
  close(): Promise<void>;
};
/** What Kysely's PostgreSQL connection answers, which is what MikroORM expects of a transaction context. */
export type ReadResult = { rows: unknown[] };
export type ReadSession = { executeQuery(query: CompiledQuery): Promise<ReadResult>; release(): void };

export function openReadPool(orm: MikroORM, opts: { max: number; statementTimeoutMs: number }): ReadPool {
  if (!Number.isInteger(opts.statementTimeoutMs) || opts.statementTimeoutMs < 0)
    throw new Error(`statement timeout must be a whole number of ms, not ${opts.statementTimeoutMs}`);
  const connection = orm.em.getConnection() as unknown as { mapOptions(overrides: object): pg.PoolConfig };
  const settings = {
    default_transaction_read_only: 'on',
    statement_timeout: String(opts.statementTimeoutMs),
    plan_cache_mode: 'force_generic_plan',
    jit: 'off',
  };
  const pool = new pg.Pool(
    connection.mapOptions({
      max: opts.max,
      // A connection, once opened, stays (pg-pool closes idle clients only above `min`). With the default 10 s idle
      // timeout the connections a burst opened were closed in the quiet after it, and the next burst paid for new
      // backends: a fresh PostgreSQL backend loads its catalog caches and plans the read path's statements again,
      // which stalled the customer 360 for 100–400 ms (bench:graphql's even pace, ~10 s after a closed-loop run:
      // p99 25–125 ms; with the connections kept, 9–11 ms, max under 20 ms).
      min: opts.max,
      application_name: sessionName('hub-read'),
      options: Object.entries(settings)
        .map(([k, v]) => `-c ${k}=${v}`)
        .join(' '),
    }),
  );
  const logger = orm.config.getLogger();
  // A connection the server drops must not take the process down (an 'error' event without a listener would).
  pool.on('connect', (client) => {
    client.on('error', (e) => logger.warn('info', `PostgreSQL read connection error: ${e.message}`));
  });
  pool.on('error', (e) => logger.warn('info', `PostgreSQL read pool error: ${e.message}`));
  preparePooledStatements(pool);
  // node-postgres's own pool and clients, not Kysely's connection handling: a connection Kysely held for several
  // statements (`connection().execute`, or its provider running more than one statement) left each request's
  // objects reachable for the young-generation collector until a full collection, as node-postgres's promise-form
  // `client.query` did (which the hook above now answers through the callback form). Measured on a bare Apollo
  // server at 200 requests/s (`npm run bench:promotion`): begin, one statement and rollback on a Kysely-provided
  // connection promoted 0.2–50 kB per MB allocated from run to run; the same three on a client of this pool, 0.2–0.5 kB.
  return {
    executeQuery: async (query) => readResult(await pool.query(query.sql, query.parameters as unknown[])),
    connect: async () => {
      const client = await pool.connect();
      return {
        executeQuery: async (query) => readResult(await client.query(query.sql, query.parameters as unknown[])),
        release: () => client.release(),
      };
    },
    close: () => pool.end(),
  };
}

/** The shape of Kysely's PostgreSQL driver's answer, which MikroORM reads (`rows`; nothing here writes). */
const readResult = (res: pg.QueryResult): ReadResult => ({ rows: res.rows ?? [] });
