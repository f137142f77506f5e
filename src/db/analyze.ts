import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';
import { quoteIdent as ident } from './sql-sets.ts';

/**
 * A quick ANALYZE of the plain columns of tables just filled, for what is planned right after (the bulk load's follow-up,
 * the first reads and streaming after it): every column but the jsonb ones. The hub never filters or joins on a
 * whole jsonb value, yet computing their statistics is most of what analysing a table of payloads costs:
 * `source_record`'s raw record, attributes, profile, explanation and versions took ~400 of its ~550 ms (21,000
 * records). PostgreSQL skips the statistics of expression indexes (an activity's bank account, a birthday) when
 * given a column list, and resets a table's count of changes since its last analyse only for a whole-table
 * ANALYZE — so autovacuum still analyses the whole tables after the commit, and the risk rescan, which reads those
 * expressions, analyses its tables itself first (src/risk/rescan.ts).
 */
export async function analyzePlannerColumns(em: EntityManager, tables: readonly string[]): Promise<void> {
  const columns = await executeBound<{ table: string; columns: string[] }[]>(
    em,
    `select c.relname as table, array_agg(a.attname::text order by a.attnum) as columns
       from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.oid = any(?::regclass[]) and a.attnum > 0 and not a.attisdropped and a.atttypid <> 'jsonb'::regtype
      group by c.relname`,
    [tables],
  );
  const list = columns.map((t) => `${ident(t.table)} (${t.columns.map(ident).join(', ')})`);
  if (list.length === 0) return;
  // A quick sample (a tenth of the default: 3,000 rows a table), for the plans until autovacuum's whole analyse.
  const [was] = await executeBound<{ target: string }[]>(
    em,
    `select current_setting('default_statistics_target') as target, set_config('default_statistics_target', '10', true)`,
  );
  await executeBound(em, `analyze ${list.join(', ')}`);
  await executeBound(em, `select set_config('default_statistics_target', ?, true)`, [was?.target ?? '100']);
}
