import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * Rows of a query read `size` at a time through a cursor of the transaction (the whole result is never in memory).
 * Read to the end, the cursor is closed; a cursor left open goes with its transaction.
 * Reads one chunk ahead: the next FETCH is sent before a chunk is handed out, so the database produces it while
 * the caller works on this one (statements the caller sends meanwhile run after that FETCH, on the same
 * connection; the cursor's rows are those of its declaration either way).
 */
export async function* cursorRows<T>(
  em: EntityManager,
  name: string,
  sql: string,
  params: readonly unknown[] = [],
  size = 10_000,
): AsyncGenerator<T[]> {
  await executeBound(em, `declare ${name} no scroll cursor for ${sql}`, params);
  const fetch = () => {
    const rows = executeBound<T[]>(em, `fetch ${size} from ${name}`);
    // Observed by the next iteration; a caller that stopped early leaves it unobserved, and its transaction ends
    // with the caller's own error.
    rows.catch(() => {});
    return rows;
  };
  let next = fetch();
  for (;;) {
    const rows = await next;
    if (rows.length === 0) break;
    // A short chunk is the last one: no FETCH is sent for the empty answer after it.
    next = rows.length < size ? Promise.resolve([]) : fetch();
    // A caller that stops early (an error in its loop body) leaves the cursor open: the transaction ends with
    // that error anyway, and closing here would fail in the aborted transaction and hide the error that matters.
    yield rows;
  }
  await executeBound(em, `close ${name}`);
}
