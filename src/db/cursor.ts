import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * Rows of a query read `size` at a time through a cursor of the transaction (the whole result is never in memory).
 * The caller must consume the generator to its end or return from it (closing the cursor).
 */
export async function* cursorRows<T>(
  em: EntityManager,
  name: string,
  sql: string,
  params: readonly unknown[] = [],
  size = 10_000,
): AsyncGenerator<T[]> {
  await executeBound(em, `declare ${name} no scroll cursor for ${sql}`, params);
  try {
    for (;;) {
      const rows = await executeBound<T[]>(em, `fetch ${size} from ${name}`);
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    await executeBound(em, `close ${name}`);
  }
}
