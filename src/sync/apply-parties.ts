import type { EntityManager } from '@mikro-orm/postgresql';
import { recomputeParties, type HistoryCause } from './survivorship.ts';
import { applyPartyChangeAlone } from './party-change.ts';
import { tally, type ApplyStats } from './apply-stats.ts';
import type { SyncDeps } from './sync-deps.ts';
import type { ChangeSet } from './change-set.ts';
import {
  type PartyChange,
  type Blocks,
  type Segment,
  recordKey,
  newSegment,
  sameAttributes,
  isStale,
} from './party-batch-types.ts';
import { foldChangeEvents } from './fold-events.ts';
import { loadBlocks, loadStates } from './party-batch-load.ts';
import { resolveInMemory, touch, addedTo } from './party-batch-resolve.ts';
import { flush } from './party-batch-flush.ts';
import { insertNewGoldenRecords } from './party-batch-create.ts';
/**
 * Identity resolution for a whole batch of party changes, set-wise. The result is the one the one-at-a-time
 * path (party-change.ts) gives applying the same changes in the same order; only the number of statements
 * differs (a constant number per batch instead of ~25 per new record):
 *   1. the batch's source records are read and locked in one statement; blocks (counted as the matcher caps
 *      them), their candidate records and remembered rejections in three more;
 *   2. each change is decided in memory, in order: stale, same attributes as held (only recency moves), or
 *      matched against its candidates — the store's, plus the records this batch linked before it, with the
 *      block sizes as they stand at that moment, so a record sees exactly what it would see one at a time;
 *   3. the writes (golden records, source records, blocking keys, identifiers and contact points, review tasks)
 *      go out as a few multi-row statements; survivorship runs once per affected golden record at the end (so
 *      a golden record's version counts batches, not events, and its lineage carries the latest source time).
 * A decision that reshapes golden records — a record bridging two golden records (merge), a record leaving a
 * golden record it shares with others (unmerge), a delete, a revived record — is rare: the pending writes are
 * flushed and their golden records recomputed, that change goes through the one-at-a-time path, and the batch's
 * view is reloaded.
 */
export async function applyParties(
  em: EntityManager,
  given: readonly PartyChange[],
  deps: SyncDeps,
  stats: ApplyStats,
  changed: ChangeSet,
): Promise<void> {
  // Change events become whole-record changes first (their fold); everything below treats them as records.
  const changes = await foldChangeEvents(em, given);
  const matching = deps.matcher.batch;
  const recompute = new Map<string, { cause: HistoryCause; detail: Record<string, unknown> }>();
  const noteRecompute = (partyId: string, cause: HistoryCause, change: PartyChange) => {
    const rank: Record<string, number> = { CREATED: 2, MATCH: 1, SOURCE_CHANGE: 0 };
    const record = `${change.system}/${change.sourceId}`;
    const prev = recompute.get(partyId);
    if (!prev) {
      recompute.set(partyId, { cause, detail: { record, sourceVersion: change.sourceVersion } });
      return;
    }
    const records = [
      ...new Set([...((prev.detail.records as string[] | undefined) ?? [prev.detail.record as string]), record]),
    ];
    recompute.set(partyId, {
      cause: (rank[cause] ?? 0) > (rank[prev.cause] ?? 0) ? cause : prev.cause,
      detail: { records: records.slice(0, 50), count: records.length },
    });
  };

  if (!matching) {
    // No in-memory matcher: every change one at a time (also the reference the set-based path is tested against).
    for (const change of changes) {
      const outcome = await applyPartyChangeAlone(em, change, deps, stats, changed);
      tally(stats, change.system, outcome === 'APPLIED' ? 1 : 0, outcome === 'APPLIED' ? 0 : 1);
    }
    return;
  }
  /** Sends the pending writes and brings the golden records they touched up to date. */
  const settle = async (pending: Segment) => {
    // New golden records go in with their survived values and first version (party-batch-create.ts), the rest of
    // the writes after them; survivorship then runs for the golden records that existed before.
    const created = await insertNewGoldenRecords(em, pending, recompute);
    await flush(
      em,
      created.size === 0 ? pending : { ...pending, parties: pending.parties.filter((p) => !created.has(p.id)) },
    );
    for (const id of created) recompute.delete(id);
    stats.partiesChanged += created.size;
    if (recompute.size > 0) stats.partiesChanged += (await recomputeParties(em, recompute)).size;
    recompute.clear();
  };

  let states = await loadStates(em, changes);
  let blocks: Blocks | null = null;
  let segment = newSegment();
  for (let i = 0; i < changes.length; i += 1) {
    const change = changes[i] as PartyChange;
    const state = states.get(recordKey(change.system, change.sourceId));
    if (isStale(state, change)) {
      tally(stats, change.system, 0, 1);
      continue;
    }
    if (
      change.op === 'upsert' &&
      state &&
      !state.deleted &&
      state.partyId !== null &&
      sameAttributes(state.attributes, change.attributes)
    ) {
      // Sources repeat the customer with every event (the payer of each premium): same attributes means same
      // matching evidence, so identity resolution is skipped; only recency moved, which survivorship weighs.
      touch(segment, state, change);
      state.version = BigInt(change.sourceVersion);
      // Alone in its golden record, the record wins every attribute whatever its time: nothing to recompute
      // (and no new version for a timestamp). With others, recency decides (MOST_RECENT).
      // A folded event may also change which event gave a value (lineage names it).
      if (state.others + addedTo(segment, state.partyId, state.id) > 0 || change.fold !== undefined)
        noteRecompute(state.partyId, 'SOURCE_CHANGE', change);
      tally(stats, change.system, 1, 0);
      continue;
    }
    if (
      change.op === 'upsert' &&
      !(state?.resolvedInSegment ?? false) &&
      !(state?.deleted ?? false) &&
      (state === undefined || state.partyId !== null)
    ) {
      blocks ??= await loadBlocks(em, changes.slice(i), states, deps, matching);
      const linked = resolveInMemory(change, state, blocks, segment, deps, matching);
      if (linked !== null) {
        states.set(recordKey(change.system, change.sourceId), linked.state);
        noteRecompute(linked.state.partyId as string, linked.cause, change);
        changed.customers.add(linked.state.partyId as string);
        tally(stats, change.system, 1, 0);
        continue;
      }
    }
    // Reshapes golden records: the pending writes go out and the golden records they touched are recomputed
    // first (a merge or a delete reads and versions them as they stand), then the change is applied alone and
    // the batch's view reloaded.
    await settle(segment);
    segment = newSegment();
    const outcome = await applyPartyChangeAlone(em, change, deps, stats, changed);
    tally(stats, change.system, outcome === 'APPLIED' ? 1 : 0, outcome === 'APPLIED' ? 0 : 1);
    states = await loadStates(em, changes.slice(i + 1));
    blocks = null;
  }
  await settle(segment);
}
