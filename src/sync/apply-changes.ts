import type { EntityManager } from '@mikro-orm/postgresql';
import type { CanonicalChange, PartyDelete, PartyUpsert } from '../domain/canonical.ts';
import { lockMatchKeys } from './identity.ts';
import { applyFacts, isFact, type FactChange } from './apply-facts.ts';
import { applyParties } from './apply-parties.ts';
import type { ChangeSet } from './change-set.ts';

/**
 * The sync step: applies canonical changes inside the caller's transaction. Every write is guarded by the
 * source version, so a duplicate or an out-of-order older change is a no-op ("stale") and replaying a stream
 * converges to the same state. Two paths:
 *   - party changes go through identity resolution (match, link/merge, survivorship) set-wise per batch
 *     (apply-parties.ts): each record is decided in memory in order, seeing the records before it, and the
 *     rare cases that reshape golden records (merge, unmerge, delete) are applied one at a time
 *     (party-change.ts);
 *   - everything else (policies, covers, roles, activities) is keyed by the source's natural keys and written
 *     set-wise (apply-facts.ts); a role that arrives before its policy or its client is stored as is and joins
 *     up when the other side arrives, because the customer is found through source_record at read time.
 * What changed, and for whom, is reported in a change set (change-set.ts) for the caller to follow up on.
 */
export { emptyStats, type ApplyStats } from './apply-stats.ts';
export type { ApplyOutcome, SyncDeps } from './sync-deps.ts';
import type { ApplyStats } from './apply-stats.ts';
import type { SyncDeps } from './sync-deps.ts';

export async function applyChanges(
  em: EntityManager,
  changes: readonly CanonicalChange[],
  deps: SyncDeps,
  stats: ApplyStats,
  changed: ChangeSet,
): Promise<void> {
  const facts: FactChange[] = [];
  const parties: (PartyUpsert | PartyDelete)[] = [];
  for (const change of changes) {
    if (isFact(change)) facts.push(change);
    else parties.push(change);
  }
  if (parties.length > 0) await applyParties(em, parties, deps, stats, changed);
  if (facts.length > 0) await applyFacts(em, facts, stats, changed);
}

/**
 * Locks, in one sorted statement at the start of a batch, every source record and blocking key the batch's
 * party changes will touch. Two transactions that share a customer (the same payer in payments on two
 * partitions) then queue instead of deadlocking crosswise, and two that both create the same new source record
 * cannot both insert it. These are the transaction's only advisory locks of records and keys.
 */
export async function lockPartyKeys(
  em: EntityManager,
  changes: readonly CanonicalChange[],
  deps: SyncDeps,
): Promise<void> {
  const keys = new Set<string>();
  for (const c of changes) addPartyLockKeys(keys, c, deps);
  await lockMatchKeys(em, [...keys]);
}

/**
 * Adds the advisory locks `lockPartyKeys` takes for one change to `keys` (a set, so that keys shared within a
 * batch count once). Each lock takes a slot in the server's shared lock table until the transaction ends:
 * ingest budgets them per transaction (apply-batch.ts).
 */
export function addPartyLockKeys(keys: Set<string>, c: CanonicalChange, deps: SyncDeps): void {
  if (c.entity !== 'party') return;
  keys.add(recordLockKey(c.system, c.sourceId));
  // Blocks far too big to match on are not locked: no decision depends on their members, and they are in
  // nearly every batch (a common family name), so locking them serialised all concurrent transactions.
  if (c.op === 'upsert') for (const k of deps.matcher.keys(c.attributes)) if (!deps.oversized?.has(k)) keys.add(k);
}

const recordLockKey = (system: string, sourceId: string) => `record:${system}/${sourceId}`;
