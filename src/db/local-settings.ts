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

/**
 * Plans the rest of the transaction for keyed lookups over cached tables: `random_page_cost` down to 1.1 (a server
 * configured lower keeps its own). At PostgreSQL's default of 4 — disk seeks — the planner hashed whole tables of
 * a store of some thousand customers to join a few hundred keys (the risk worker's relationship, shared-contact and
 * household lookups: two sequential scans of `policy_role` per round); on a store whose working set is in memory, as
 * the hub's is (docs/operations.md, "Sizing"), an index probe costs about what a sequential page does. Only for
 * work that looks up given customers (risk and programme settlement): whole-store statements (the bulk load, the
 * rescan's relationships) keep the server's setting, where a hash join is what they need.
 */
export async function preferIndexLookupsLocally(em: EntityManager): Promise<void> {
  await executeBound(
    em,
    `select set_config('random_page_cost', '1.1', true) where current_setting('random_page_cost')::float8 > 1.1`,
  );
}

/**
 * Makes the rest of the transaction read through plain index scans (no bitmap or sequential scans). For a queue
 * table whose rows are marked done by an update (the outbox, dead letters): the partial index of pending rows keeps
 * an entry for each done row's old version until VACUUM, and a bitmap scan visits every one of them on every poll
 * (16,839 heap tuples, 1,290 pages, for an empty queue on a bench:ingest store). A plain index scan marks an entry it
 * finds dead for everyone (kill_prior_tuple), so each is visited once and later polls skip it in the index.
 */
export async function walkIndexesLocally(em: EntityManager): Promise<void> {
  await executeBound(
    em,
    `select set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`,
  );
}
