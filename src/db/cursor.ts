import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * Rows of a query read `size` at a time through a cursor of the transaction (the whole result is never in memory).
 * Read to the end, the cursor is closed; a cursor left open goes with its transaction.
 */
export async function* cursorRows<T>(
  em: EntityManager,
  name: string,
  sql: string,
  params: readonly unknown[] = [],
  size = 10_000,
): AsyncGenerator<T[]> {
  await executeBound(em, `declare ${name} no scroll cursor for ${sql}`, params);
  for (;;) {
    const rows = await executeBound<T[]>(em, `fetch ${size} from ${name}`);
    if (rows.length === 0) break;
    // A caller that stops early (an error in its loop body) leaves the cursor open: the transaction ends with
    // that error anyway, and closing here would fail in the aborted transaction and hide the error that matters.
    yield rows;
  }
  await executeBound(em, `close ${name}`);
}
