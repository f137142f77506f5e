import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../db/bound-sql.ts';
import { chunked } from '../../db/sql-sets.ts';

/**
 * How many stored records share each blocking key (`match_key`, hashed as stored), each block counted only up to
 * `capOf(key)` rows: the cost of finding a giant block too big must not grow with its size. Used wherever a block's
 * size decides whether it is evidence (`BatchMatching.usable`): matching one record, a batch, the resolution pass.
 */
export async function countBlocks(
  em: EntityManager,
  keys: readonly string[],
  capOf: (key: string) => number,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const chunk of chunked([...new Set(keys)], 5000)) {
    // Only the blocks that hold a record come back: most keys of a stream of new customers are new (empty blocks),
    // and a row per key was most of what this statement returned. OFFSET 0 keeps the count from being pulled up
    // into the filter and run twice. The keys and caps go as two arrays of one prepared statement (not a VALUES
    // list parsed and planned anew for every batch).
    for (const k of chunk) sizes.set(k, 0);
    const rows = await executeBound<{ key: string; n: number }[]>(
      em,
      `select key, n from (
         select t.k as key, (select count(*)::int from (select 1 from match_key m where m.key_hash = hashtextextended(t.k, 0) limit t.cap) as capped) as n
           from unnest(?::text[], ?::int[]) as t(k, cap) offset 0) as counted
        where n > 0`,
      [chunk, chunk.map((k) => capOf(k))],
      { prepared: true },
    );
    for (const r of rows) sizes.set(r.key, r.n);
  }
  return sizes;
}
