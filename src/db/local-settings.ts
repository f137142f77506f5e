import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * Raises a memory setting for the rest of the transaction to at least `mb` megabytes; a server configured for
 * more keeps its own setting (a store of millions wants a gigabyte or more).
 */
export async function atLeastLocally(
  em: EntityManager,
  setting: 'work_mem' | 'maintenance_work_mem',
  mb: number,
): Promise<void> {
  await executeBound(
    em,
    `select set_config('${setting}', '${mb}MB', true) where pg_size_bytes(current_setting('${setting}')) < ${mb} * 1024 * 1024`,
  );
}
