import { CompiledQuery, type Kysely } from 'kysely';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A read-only REPEATABLE READ transaction for one GraphQL query operation, bound to the request's entity manager
 * so that every statement of the query (the loaders', MikroORM's, `executeBound`'s) reads one snapshot.
 *
 * Opened in one round trip: the begin and the transaction's settings go to PostgreSQL as one simple-protocol
 * message, on a pooled connection held for the request. (Through MikroORM's `em.begin` it was two: the begin,
 * then a `set_config` — and with the one statement a customer 360 now needs, the begin, the settings and the
 * end were three of the four statements per request and most of the driver's work.) The settings:
 *   - `statement_timeout`: no statement of a query runs longer (SQLSTATE 57014, answered as TIMEOUT);
 *   - `plan_cache_mode = force_generic_plan`: statements with parameters run on their generic plans. Left to
 *     choose, PostgreSQL planned the customer 360's prepared statement (src/db/prepared.ts) anew on every
 *     request (~0.8 ms of ~1.7 ms), its custom plans being estimated cheaper than the generic one, which is the
 *     same plan. The read path's parameters are keys (ids, phone keys, flags), whose plans do not depend on the
 *     value; statements with values inlined (MikroORM's) are planned as before.
 * Nothing is written in a query operation, so the transaction has no savepoints (MikroORM's nested
 * `transactional` would need one; only mutations use it, and they run without a snapshot).
 */
export type ReadSnapshot = { end(): Promise<void> };

export async function beginReadSnapshot(em: EntityManager, statementTimeoutMs: number): Promise<ReadSnapshot> {
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 0)
    throw new Error(`statement timeout must be a whole number of ms, not ${statementTimeoutMs}`);
  const logger = em.config.getLogger();
  const kysely = em.getConnection().getClient() as Kysely<unknown>;
  // Kysely hands out one pooled connection for as long as the callback runs: until `end`.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let done: Promise<void> = Promise.resolve();
  const connection = await new Promise<Kysely<unknown>>((resolve, reject) => {
    done = kysely
      .connection()
      .execute(async (db) => {
        resolve(db);
        await held;
      })
      .catch(reject);
  });
  const begin =
    'start transaction isolation level repeatable read read only; ' +
    `set local statement_timeout = ${statementTimeoutMs}; set local plan_cache_mode = force_generic_plan`;
  const started = Date.now();
  try {
    await connection.executeQuery(CompiledQuery.raw(begin));
  } catch (e) {
    // The begin may have got through and a setting failed: the connection goes back to the pool idle.
    await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
    release();
    await done;
    throw e;
  }
  logger.logQuery({ query: begin, took: Date.now() - started, level: 'info' });
  // The transaction context MikroORM and executeBound run statements on (`executeQuery`).
  em.setTransactionContext(connection);
  return {
    async end() {
      em.resetTransactionContext();
      try {
        // Read-only: nothing to commit; ending it returns the connection to the pool.
        await connection.executeQuery(CompiledQuery.raw('rollback'));
        logger.logQuery({ query: 'rollback', took: 0, level: 'info' });
      } finally {
        release();
        await done;
      }
    },
  };
}
