import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';
import { atLeastLocally } from './local-settings.ts';
import { quoteIdent as ident } from './sql-sets.ts';

/**
 * Secondary indexes and foreign keys of some tables, dropped for the bulk initial load's COPY and restored after
 * it in the same transaction (src/sync/bulk-write.ts): building an index once over the loaded rows is much
 * cheaper than maintaining it row by row (random inserts into B-trees larger than the cache, a GIN index on
 * names), and a foreign key is validated by one join instead of a trigger per row queued until the end.
 * Primary keys, unique constraints and unique indexes stay (other tables' keys depend on them, upserts find their
 * rows by them, they guard the load's own ids).
 * A failure anywhere rolls the drop back with everything else: the schema is never left without them.
 * Only for empty tables: dropping takes an exclusive lock on each table, which would block a running hub.
 */
export type DroppedSchema = {
  /** The tables whose secondary indexes and foreign keys these are. */
  tables: string[];
  indexes: { table: string; name: string; definition: string }[];
  foreignKeys: { table: string; name: string; definition: string }[];
};

export async function dropSecondaryIndexes(em: EntityManager, tables: readonly string[]): Promise<DroppedSchema> {
  const indexes = await executeBound<{ table: string; name: string; definition: string }[]>(
    em,
    `select c.relname as table, ic.relname as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i
       join pg_class c on c.oid = i.indrelid
       join pg_class ic on ic.oid = i.indexrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relname = any(?::text[]) and not i.indisprimary and not i.indisunique
        and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
      order by c.relname, ic.relname`,
    [tables],
  );
  const foreignKeys = await executeBound<{ table: string; name: string; definition: string }[]>(
    em,
    `select c.relname as table, k.conname as name, pg_get_constraintdef(k.oid) as definition
       from pg_constraint k
       join pg_class c on c.oid = k.conrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and k.contype = 'f' and c.relname = any(?::text[])
      order by c.relname, k.conname`,
    [tables],
  );
  for (const fk of foreignKeys)
    await executeBound(em, `alter table ${ident(fk.table)} drop constraint ${ident(fk.name)}`);
  for (const ix of indexes) await executeBound(em, `drop index ${ident(ix.name)}`);
  return { tables: [...tables], indexes, foreignKeys };
}

/**
 * Restores what `dropSecondaryIndexes` dropped of the given tables (all by default): indexes, then foreign keys
 * (unless `indexesOnly`: a table whose foreign keys reference rows not written yet).
 */
export async function restoreSecondaryIndexes(
  em: EntityManager,
  dropped: DroppedSchema,
  tables?: readonly string[],
  indexesOnly = false,
): Promise<void> {
  const mine = (t: { table: string }) => !tables || tables.includes(t.table);
  // Index builds sort in memory up to at least 256 MB (per build, this transaction only) instead of spilling to
  // disk.
  await atLeastLocally(em, 'maintenance_work_mem', 256);
  for (const ix of dropped.indexes.filter(mine)) await executeBound(em, ix.definition);
  dropped.indexes = dropped.indexes.filter((t) => !mine(t));
  if (indexesOnly) return;
  for (const fk of dropped.foreignKeys.filter(mine))
    await executeBound(em, `alter table ${ident(fk.table)} add constraint ${ident(fk.name)} ${fk.definition}`);
  dropped.foreignKeys = dropped.foreignKeys.filter((t) => !mine(t));
}
