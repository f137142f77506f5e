import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * Reads relations into the database server's cache with `pg_prewarm` ('read' mode: into the operating system's
 * page cache, which is where a server with a modest `shared_buffers` serves its reads from). After a bulk load or
 * a server restart the store is on disk only: the first requests of every customer read each index and heap page
 * from disk — at a million customers, name search's p99 was 76 ms right after the load and 8 ms once warm
 * (docs/operations.md). Warming reads the pages in sequence, once, at disk speed, before traffic comes.
 *
 * Order: each listed table's indexes, then its heap when asked for, in the order given (the caller puts what its
 * hottest reads touch first). A relation that would take the total past the budget is skipped and smaller ones
 * after it still go in. The budget defaults to the server's `effective_cache_size` — what the operator told
 * PostgreSQL the cache holds; warming more would evict what was just read.
 */
export type WarmTable = { table: string; heap: boolean };
export type WarmedRelation = { relation: string; mb: number; ms: number };
export type WarmResult = {
  warmed: WarmedRelation[];
  skipped: { relation: string; mb: number }[];
  budgetMb: number;
  mb: number;
  seconds: number;
};

export class WarmUnavailableError extends Error {}

export async function warmRelations(
  em: EntityManager,
  tables: readonly WarmTable[],
  opts: { budgetMb?: number } = {},
): Promise<WarmResult> {
  const started = performance.now();
  const available = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from pg_available_extensions where name = 'pg_prewarm'`,
  );
  if ((available[0]?.n ?? 0) === 0) throw new WarmUnavailableError('pg_prewarm is not available on this server');
  await em.execute('create extension if not exists pg_prewarm');
  const budgetMb =
    opts.budgetMb ??
    Number(
      (
        await em.execute<{ mb: string }[]>(
          `select (setting::bigint * (select setting::bigint from pg_settings where name = 'block_size')) / 1048576 as mb
             from pg_settings where name = 'effective_cache_size'`,
        )
      )[0]?.mb ?? 0,
    );
  // Every relation of the listed tables with its size, in the order to warm them: per table its indexes (largest
  // last, so that a tight budget keeps the small lookup indexes), then the heap if it is wanted.
  const relations = await executeBound<{ relation: string; bytes: string }[]>(
    em,
    `with wanted as (select t.name, t.ord, t.heap from unnest(?::text[], ?::boolean[]) with ordinality as t(name, heap, ord))
     select c.relname as relation, pg_relation_size(c.oid) as bytes
       from wanted w
       join pg_class t on t.relname = w.name and t.relnamespace = 'public'::regnamespace and t.relkind = 'r'
       join lateral (
         select i.indexrelid as oid, 0 as kind from pg_index i where i.indrelid = t.oid
         union all select t.oid, 1 where w.heap
       ) r on true
       join pg_class c on c.oid = r.oid
      order by w.ord, r.kind, pg_relation_size(c.oid), c.relname`,
    [tables.map((t) => t.table), tables.map((t) => t.heap)],
  );
  const warmed: WarmedRelation[] = [];
  const skipped: WarmResult['skipped'] = [];
  let mb = 0;
  for (const r of relations) {
    const size = Number(r.bytes) / 1048576;
    if (mb + size > budgetMb) {
      skipped.push({ relation: r.relation, mb: size });
      continue;
    }
    const t0 = performance.now();
    await executeBound(em, `select pg_prewarm(?::regclass, 'read')`, [r.relation]);
    warmed.push({ relation: r.relation, mb: size, ms: performance.now() - t0 });
    mb += size;
  }
  return { warmed, skipped, budgetMb, mb, seconds: (performance.now() - started) / 1000 };
}
