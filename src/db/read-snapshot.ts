import { CompiledQuery, type Kysely } from 'kysely';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * How a GraphQL query operation reads, on the read pool (src/db/read-pool.ts, whose sessions carry the statement
 * timeout and generic plans):
 *   - `beginReadSnapshot`: a read-only REPEATABLE READ transaction, bound to the request's entity manager so that
 *     every statement of the query (the loaders', MikroORM's, `executeBound`'s) reads one snapshot; one round trip
 *     to begin, one to end, a pooled connection held in between;
 *   - `readWithoutSnapshot`: for an operation known to need one statement (its one statement is a snapshot by
 *     itself): each statement goes to the pool on its own, outside any transaction, and the statements are
 *     counted, so that the caller can tell when the operation needed more after all (and run it again in a
 *     snapshot: src/resolvers/read-modes.ts).
 * Nothing is written in a query operation, so there are no savepoints (MikroORM's nested `transactional` would
 * need one; only mutations use it, and they run on the main pool without either).
 */
export type ReadSnapshot = { end(): Promise<void> };
type Executor = { executeQuery(query: CompiledQuery, ...rest: unknown[]): Promise<unknown> };

const begin = 'start transaction isolation level repeatable read read only';

export async function beginReadSnapshot(em: EntityManager, pool: Kysely<unknown>): Promise<ReadSnapshot> {
  const logger = em.config.getLogger();
  // Kysely hands out one pooled connection for as long as the callback runs: until `end`.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let done: Promise<void> = Promise.resolve();
  const connection = await new Promise<Kysely<unknown>>((resolve, reject) => {
    done = pool
      .connection()
      .execute(async (db) => {
        resolve(db);
        await held;
      })
      .catch(reject);
  });
  const started = Date.now();
  try {
    await connection.executeQuery(CompiledQuery.raw(begin));
  } catch (e) {
    release();
    await done;
    throw e;
  }
  logger.logQuery({ query: begin, took: Date.now() - started, level: 'info' });
  // The transaction context MikroORM and executeBound run statements on (`executeQuery`).
  em.setTransactionContext(connection as never);
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

/** Statements of the request go to the read pool one by one, no transaction; `statements()` counts them. */
export function readWithoutSnapshot(em: EntityManager, pool: Kysely<unknown>): { statements(): number } {
  let n = 0;
  const executor: Executor = {
    executeQuery(query, ...rest) {
      n += 1;
      return (pool as unknown as Executor).executeQuery(query, ...rest);
    },
  };
  em.setTransactionContext(executor as never);
  return { statements: () => n };
}
