import { CompiledQuery } from 'kysely';
import type { ReadPool } from './read-pool.ts';
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
type Executor = Pick<ReadPool, 'executeQuery'>;

const begin = 'start transaction isolation level repeatable read read only';

export async function beginReadSnapshot(em: EntityManager, pool: ReadPool): Promise<ReadSnapshot> {
  const logger = em.config.getLogger();
  const session = await pool.connect();
  const started = Date.now();
  try {
    await session.executeQuery(CompiledQuery.raw(begin));
  } catch (e) {
    session.release();
    throw e;
  }
  logger.logQuery({ query: begin, took: Date.now() - started, level: 'info' });
  // The transaction context MikroORM and executeBound run statements on (`executeQuery`).
  em.setTransactionContext(session as never);
  return {
    async end() {
      em.resetTransactionContext();
      try {
        // Read-only: nothing to commit; ending it returns the connection to the pool.
        await session.executeQuery(CompiledQuery.raw('rollback'));
        logger.logQuery({ query: 'rollback', took: 0, level: 'info' });
      } finally {
        session.release();
      }
    },
  };
}

/** Statements of the request go to the read pool one by one, no transaction; `statements()` counts them. */
export function readWithoutSnapshot(em: EntityManager, pool: ReadPool): { statements(): number } {
  let n = 0;
  const executor: Executor = {
    executeQuery(query) {
      n += 1;
      return pool.executeQuery(query);
    },
  };
  em.setTransactionContext(executor as never);
  return { statements: () => n };
}
