import { randomUUID } from 'node:crypto';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes, PartyDelete, PartyUpsert } from '../domain/canonical.ts';
import type { MatchExplanation } from '../model/source-record.entity.ts';
import type { BatchMatching, MatchCandidate, PartyEvidence } from './match/matcher.ts';
import { recomputeParties, stableJson, type HistoryCause } from './survivorship.ts';
import { applyPartyChangeAlone, insertContributions } from './party-change.ts';
import { insertMatchKeys } from './identity.ts';
import { tally, type ApplyStats } from './apply-stats.ts';
import { OversizedBlocks } from './match/oversized-blocks.ts';
import type { SyncDeps } from './apply-changes.ts';
import type { RiskWork } from '../risk/risk-work.ts';
import { chunked } from '../db/sql-sets.ts';

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
type PartyChange = PartyUpsert | PartyDelete;

/** A source record as the batch currently sees it. */
type RecordState = {
  id: string;
  partyId: string | null;
  version: bigint;
  deleted: boolean;
  linkType: string;
  attributes: PartyAttributes | null;
  /** Live records of its golden record other than itself, when the view was loaded. */
  others: number;
  /** Written by this segment (not yet flushed): resolving it again needs the one-at-a-time path. */
  resolvedInSegment: boolean;
};

/** Blocks of the remaining changes' keys, as counted in the store when loaded, plus what the batch did since. */
type Blocks = {
  stored: Map<string, number>;
  candidates: Map<string, MatchCandidate[]>;
  rejections: Map<string, Set<string>>;
  /** Records added to minus removed from each block by this batch since the load. */
  delta: Map<string, number>;
  /** Records this batch (re)keyed since the load, by key. */
  added: Map<string, Map<string, MatchCandidate>>;
  /** Stored records whose stored keys the batch replaced (their store rows no longer count as candidates). */
  replaced: Set<string>;
};

type RecordWrite = {
  id: string;
  change: PartyUpsert;
  partyId: string;
  /** New record (insert) or a stored one (update). */
  fresh: boolean;
  /** Link fields are written only when the record (re)links; otherwise only its explanation (none if MANUAL). */
  link: { linkType: string; score: number | null } | null;
  explanation: MatchExplanation | null;
  /** The matcher's normalised view, stored with the record (JSON), or null. */
  profile: string | null;
  raw: Record<string, unknown>;
  sourceTime: Date | null;
  sourceVersion: string;
};

/** Writes decided in memory and not yet sent. */
type Segment = {
  parties: { id: string; kind: string }[];
  records: Map<string, RecordWrite>;
  touches: Map<string, { raw: Record<string, unknown>; sourceTime: Date | null; sourceVersion: string }>;
  keys: Map<string, string[]>;
  reviews: Map<string, { recordId: string; partyId: string; probability: number; explanation: MatchExplanation }>;
  /** Records the segment linked to each golden record (they make it not alone). */
  linked: Map<string, Set<string>>;
};

const recordKey = (system: string, sourceId: string) => `${system}\u0000${sourceId}`;
const newSegment = (): Segment => ({
  parties: [],
  records: new Map(),
  touches: new Map(),
  keys: new Map(),
  reviews: new Map(),
  linked: new Map(),
});
const sameJson = (a: unknown, b: unknown) =>
  stableJson(JSON.parse(JSON.stringify(a ?? null))) === stableJson(JSON.parse(JSON.stringify(b ?? null)));

export async function applyParties(
  em: EntityManager,
  changes: readonly PartyChange[],
  deps: SyncDeps,
  stats: ApplyStats,
  risk: RiskWork,
): Promise<void> {
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
      const outcome = await applyPartyChangeAlone(em, change, deps, stats, risk);
      tally(stats, change.system, outcome === 'APPLIED' ? 1 : 0, outcome === 'APPLIED' ? 0 : 1);
    }
    return;
  }
  /** Sends the pending writes and brings the golden records they touched up to date. */
  const settle = async (pending: Segment) => {
    await flush(em, pending);
    if (recompute.size > 0) stats.partiesChanged += (await recomputeParties(em, recompute)).size;
    recompute.clear();
  };

  let states = await loadStates(em, changes);
  let blocks: Blocks | null = null;
  let segment = newSegment();
  for (let i = 0; i < changes.length; i += 1) {
    const change = changes[i] as PartyChange;
    const state = states.get(recordKey(change.system, change.sourceId));
    if (state && state.version >= BigInt(change.sourceVersion)) {
      tally(stats, change.system, 0, 1);
      continue;
    }
    if (
      change.op === 'upsert' &&
      state &&
      !state.deleted &&
      state.partyId !== null &&
      sameJson(state.attributes, change.attributes)
    ) {
      // Sources repeat the customer with every event (the payer of each premium): same attributes means same
      // matching evidence, so identity resolution is skipped; only recency moved, which survivorship weighs.
      touch(segment, state, change);
      state.version = BigInt(change.sourceVersion);
      // Alone in its golden record, the record wins every attribute whatever its time: nothing to recompute
      // (and no new version for a timestamp). With others, recency decides (MOST_RECENT).
      if (state.others + addedTo(segment, state.partyId, state.id) > 0)
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
        risk.screen.add(linked.state.partyId as string);
        risk.evaluate.add(linked.state.partyId as string);
        tally(stats, change.system, 1, 0);
        continue;
      }
    }
    // Reshapes golden records: the pending writes go out and the golden records they touched are recomputed
    // first (a merge or a delete reads and versions them as they stand), then the change is applied alone and
    // the batch's view reloaded.
    await settle(segment);
    segment = newSegment();
    const outcome = await applyPartyChangeAlone(em, change, deps, stats, risk);
    tally(stats, change.system, outcome === 'APPLIED' ? 1 : 0, outcome === 'APPLIED' ? 0 : 1);
    states = await loadStates(em, changes.slice(i + 1));
    blocks = null;
  }
  await settle(segment);
}

async function loadStates(em: EntityManager, changes: readonly PartyChange[]): Promise<Map<string, RecordState>> {
  const states = new Map<string, RecordState>();
  const pairs = [...new Map(changes.map((c) => [recordKey(c.system, c.sourceId), c])).values()];
  for (const chunk of chunked(pairs)) {
    const rows = await executeBound<
      {
        id: string;
        system: string;
        source_id: string;
        party_id: string | null;
        source_version: string;
        deleted: boolean;
        link_type: string;
        attributes: PartyAttributes | null;
        others: number;
      }[]
    >(
      em,
      `select sr.id, sr.system, sr.source_id, sr.party_id, sr.source_version::text as source_version, sr.deleted, sr.link_type, sr.attributes,
              (select count(*)::int from source_record o where o.party_id = sr.party_id and o.id <> sr.id and not o.deleted) as others
         from (values ${chunk.map(() => '(?, ?)').join(', ')}) as wanted(system, source_id)
         join source_record sr on sr.system = wanted.system and sr.source_id = wanted.source_id order by sr.id for update of sr`,
      chunk.flatMap((c) => [c.system, c.sourceId]),
    );
    for (const r of rows) {
      states.set(recordKey(r.system, r.source_id), {
        id: r.id,
        partyId: r.party_id,
        version: BigInt(r.source_version),
        deleted: r.deleted,
        linkType: r.link_type,
        attributes: r.attributes,
        others: r.others,
        resolvedInSegment: false,
      });
    }
  }
  return states;
}

/**
 * Blocks of every key the remaining changes may match on: sizes counted up to the matcher's limit plus what
 * the batch could take out of a block, and the candidate records of every block that could be usable at some
 * point of the batch. Only a stored record whose attributes change can take its old keys out of their blocks
 * (an unchanged repeat keeps them; a delete is applied alone and reloads this view), so that bound is counted
 * per key — a batch of repeated payers must not make every large block look usable and fetch all of it.
 */
async function loadBlocks(
  em: EntityManager,
  changes: readonly PartyChange[],
  states: Map<string, RecordState>,
  deps: SyncDeps,
  matching: BatchMatching,
): Promise<Blocks> {
  const keys = new Set<string>();
  const storedIds = new Set<string>();
  const leaving = new Map<string, Set<string>>();
  for (const c of changes) {
    if (c.op !== 'upsert') continue;
    const state = states.get(recordKey(c.system, c.sourceId));
    // Stale changes and unchanged repeats of stored records are never matched (see applyParties): their blocks
    // are neither counted nor fetched. Most of a stream is repeats — the payer of every premium.
    if (state && state.version >= BigInt(c.sourceVersion)) continue;
    const unchanged =
      state !== undefined && !state.deleted && state.attributes !== null && sameJson(state.attributes, c.attributes);
    if (unchanged && state.partyId !== null) continue;
    for (const k of deps.matcher.keys(c.attributes)) keys.add(k);
    if (!state) continue;
    storedIds.add(state.id);
    if (state.deleted || state.attributes === null || unchanged) continue;
    for (const k of deps.matcher.keys(state.attributes)) leaving.set(k, new Set([...(leaving.get(k) ?? []), state.id]));
  }
  const blocks: Blocks = {
    stored: new Map(),
    candidates: new Map(),
    rejections: new Map(),
    delta: new Map(),
    added: new Map(),
    replaced: new Set(),
  };
  const wanted: string[] = [];
  const oversized = deps.oversized;
  // How far a block can matter: its rule's limit plus what the batch may take out of it.
  const limitOf = (k: string) => matching.countLimit(k) + (leaving.get(k)?.size ?? 0);
  const toCount: string[] = [];
  for (const k of keys) {
    const limit = limitOf(k);
    // A block remembered as far too big is not counted again: it stays too big for this batch.
    // (Unless records of the batch leave it: then it may shrink, and is counted.)
    if (oversized?.has(k) && !leaving.has(k)) blocks.stored.set(k, limit + OversizedBlocks.margin);
    else toCount.push(k);
  }
  for (const chunk of chunked(toCount, 1000)) {
    const sizes = await executeBound<{ key: string; n: number }[]>(
      em,
      // Each block counted only as far as it can matter: its rule's limit plus what the batch may take out of
      // it, plus a margin that tells a block far too big (remembered, see OversizedBlocks) from one at the edge.
      `select t.k as key, (select count(*)::int from (select 1 from match_key m where m.key_hash = hashtextextended(t.k, 0) limit t.cap) as capped) as n
         from (values ${chunk.map(() => '(?, ?::int)').join(', ')}) as t(k, cap)`,
      chunk.flatMap((k) => [k, limitOf(k) + (oversized ? OversizedBlocks.margin : 0)]),
    );
    for (const s of sizes) {
      blocks.stored.set(s.key, s.n);
      if (oversized && s.n >= limitOf(s.key) + OversizedBlocks.margin) oversized.note(s.key);
      else oversized?.forget(s.key);
      if (s.n > 0 && matching.usable(s.key, Math.max(1, s.n - (leaving.get(s.key)?.size ?? 0)))) wanted.push(s.key);
    }
  }
  for (const chunk of chunked(wanted, 1000)) {
    const rows = await executeBound<
      {
        key: string;
        id: string;
        party_id: string;
        system: string;
        source_id: string;
        profile: unknown;
        attributes: PartyAttributes | null;
      }[]
    >(
      em,
      // Per key (lateral, kept apart by OFFSET 0): index lookups whatever the statistics say — on freshly
      // loaded tables the planner otherwise hash-joins whole tables for a few hundred keys.
      `select t.k as key, c.* from (values ${chunk.map(() => '(?)').join(', ')}) as t(k) cross join lateral (
         select sr.id, sr.party_id, sr.system, sr.source_id, sr.match_profile as profile, case when sr.match_profile is null then sr.attributes end as attributes
           from match_key mk join source_record sr on sr.id = mk.source_record_id and not sr.deleted join party p on p.id = sr.party_id and p.status = 'ACTIVE'
          where mk.key_hash = hashtextextended(t.k, 0) offset 0) as c`,
      chunk,
    );
    for (const r of rows) {
      const list = blocks.candidates.get(r.key) ?? [];
      list.push({
        recordId: r.id,
        partyId: r.party_id,
        system: r.system,
        sourceId: r.source_id,
        profile: r.profile,
        attributes: r.attributes,
      });
      blocks.candidates.set(r.key, list);
    }
  }
  for (const chunk of chunked([...storedIds], 1000)) {
    const rows = await executeBound<{ source_record_id: string; party_id: string }[]>(
      em,
      `select source_record_id, party_id from match_rejection where source_record_id in (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of rows)
      blocks.rejections.set(
        r.source_record_id,
        new Set([...(blocks.rejections.get(r.source_record_id) ?? []), r.party_id]),
      );
  }
  return blocks;
}

/**
 * Decides one changed or new record in memory and queues its writes; null when the decision would reshape
 * golden records (the caller then applies the change one at a time). Mirrors resolveLink in identity.ts.
 */
function resolveInMemory(
  change: PartyUpsert,
  state: RecordState | undefined,
  blocks: Blocks,
  segment: Segment,
  deps: SyncDeps,
  matching: BatchMatching,
): { state: RecordState; cause: HistoryCause } | null {
  const recordId = state?.id ?? randomUUID();
  const current = state?.partyId ?? null;
  const keys = deps.matcher.keys(change.attributes);
  let partyId: string;
  let link: RecordWrite['link'] = null;
  let explanation: MatchExplanation | null = null;
  let newParty = false;
  let possible: PartyEvidence[] = [];

  if (state?.linkType === 'MANUAL' && current !== null) {
    // A steward's decision stands: no matching, the record stays where it was put.
    partyId = current;
  } else {
    const decision = matching.decide(
      { recordId, system: change.system, sourceId: change.sourceId, attributes: change.attributes },
      candidatesOf(recordId, keys, blocks, matching),
    );
    const matched = new Map<string, PartyEvidence>(decision.matches.map((e) => [e.partyId, e]));
    if (current !== null && !matched.has(current)) {
      if ((state?.others ?? 0) + addedTo(segment, current, recordId) > 0) return null; // unmerge
      matched.set(current, {
        partyId: current,
        probability: 1,
        linkType: 'PROBABILISTIC',
        explanation: {
          decision: 'KEEP',
          probability: null,
          candidatePartyId: current,
          comparisons: [],
          note: 'only record of its golden record',
        },
      });
    }
    if (matched.size > 1) return null; // merge (or two golden records with different resident ids)
    const evidence = [...matched.values()][0];
    if (evidence) {
      if (current !== null && evidence.partyId !== current) return null; // moves between golden records
      partyId = evidence.partyId;
      explanation = evidence.explanation;
      if (current === null)
        link = {
          linkType: evidence.explanation.decision === 'KEEP' ? 'NEW' : evidence.linkType,
          score: evidence.explanation.probability,
        };
    } else {
      partyId = randomUUID();
      newParty = true;
      explanation = {
        decision: 'NEW',
        probability: null,
        candidatePartyId: null,
        comparisons: [],
        note: decision.possible.length > 0 ? 'possible matches sent to review' : 'no golden record matches',
      };
      link = { linkType: 'NEW', score: null };
    }
    if (current === null) possible = decision.possible.filter((p) => p.partyId !== partyId);
  }

  // Queue the writes.
  const profileJson = deps.matcher.profile ? JSON.stringify(deps.matcher.profile(change.attributes)) : null;
  if (newParty) segment.parties.push({ id: partyId, kind: change.attributes.kind });
  segment.touches.delete(recordId);
  if (link !== null) segment.linked.set(partyId, new Set([...(segment.linked.get(partyId) ?? []), recordId]));
  segment.records.set(recordId, {
    id: recordId,
    change,
    partyId,
    fresh: state === undefined,
    link,
    explanation,
    profile: profileJson,
    raw: change.raw,
    sourceTime: change.sourceTime,
    sourceVersion: change.sourceVersion,
  });
  segment.keys.set(recordId, keys);
  for (const p of possible)
    segment.reviews.set(`${recordId}|${p.partyId}`, {
      recordId,
      partyId: p.partyId,
      probability: p.probability,
      explanation: p.explanation,
    });

  // The blocks as the next record will see them: this record's stored keys are gone, its new keys are there.
  if (state && !state.deleted && state.attributes) {
    for (const k of deps.matcher.keys(state.attributes)) blocks.delta.set(k, (blocks.delta.get(k) ?? 0) - 1);
    blocks.replaced.add(recordId);
  }
  const profile = profileJson === null ? null : (JSON.parse(profileJson) as unknown);
  const candidate: MatchCandidate = {
    recordId,
    partyId,
    system: change.system,
    sourceId: change.sourceId,
    profile,
    attributes: profile === null ? change.attributes : null,
  };
  for (const k of keys) {
    blocks.delta.set(k, (blocks.delta.get(k) ?? 0) + 1);
    const added = blocks.added.get(k) ?? new Map<string, MatchCandidate>();
    added.set(recordId, candidate);
    blocks.added.set(k, added);
  }
  const cause: HistoryCause = newParty ? 'CREATED' : current !== partyId ? 'MATCH' : 'SOURCE_CHANGE';
  return {
    state: {
      id: recordId,
      partyId,
      version: BigInt(change.sourceVersion),
      deleted: false,
      linkType: link?.linkType ?? state?.linkType ?? 'NEW',
      attributes: change.attributes,
      others: state?.others ?? 0,
      resolvedInSegment: true,
    },
    cause,
  };
}

/** Records the segment linked to a golden record, other than `recordId` (they make it not alone). */
function addedTo(segment: Segment, partyId: string, recordId: string): number {
  const linked = segment.linked.get(partyId);
  return linked ? linked.size - (linked.has(recordId) ? 1 : 0) : 0;
}

/** The candidates a record would get from the store right now: usable blocks, without itself and rejected parties. */
function candidatesOf(
  recordId: string,
  keys: readonly string[],
  blocks: Blocks,
  matching: BatchMatching,
): MatchCandidate[] {
  const rejected = blocks.rejections.get(recordId);
  const found = new Map<string, MatchCandidate>();
  for (const k of keys) {
    if (!matching.usable(k, (blocks.stored.get(k) ?? 0) + (blocks.delta.get(k) ?? 0))) continue;
    for (const c of blocks.candidates.get(k) ?? [])
      if (c.recordId !== recordId && !blocks.replaced.has(c.recordId)) found.set(c.recordId, c);
    for (const c of blocks.added.get(k)?.values() ?? []) if (c.recordId !== recordId) found.set(c.recordId, c);
  }
  return [...found.values()]
    .filter((c) => !rejected?.has(c.partyId))
    .sort((a, b) => (a.recordId < b.recordId ? -1 : 1));
}

function touch(segment: Segment, state: RecordState, change: PartyUpsert): void {
  const pending = segment.records.get(state.id);
  if (pending) {
    pending.raw = change.raw;
    pending.sourceTime = change.sourceTime;
    pending.sourceVersion = change.sourceVersion;
    return;
  }
  segment.touches.set(state.id, {
    raw: change.raw,
    sourceTime: change.sourceTime,
    sourceVersion: change.sourceVersion,
  });
}

/** Sends a segment's writes, a few multi-row statements per table, parents before children. */
async function flush(em: EntityManager, segment: Segment): Promise<void> {
  for (const chunk of chunked(segment.parties)) {
    // clock_timestamp(), not the transaction's now(): the oldest golden record survives a merge, and golden
    // records created in one transaction must still have an order (the order they were created in).
    await executeBound(
      em,
      `insert into party (id, kind, created_at) values ${chunk.map(() => '(?, ?, clock_timestamp())').join(', ')}`,
      chunk.flatMap((p) => [p.id, p.kind]),
    );
  }
  const writes = [...segment.records.values()];
  const fresh = writes.filter((w) => w.fresh);
  const stored = writes.filter((w) => !w.fresh);
  for (const chunk of chunked(fresh)) {
    await executeBound(
      em,
      `insert into source_record (id, system, source_id, raw, attributes, match_profile, source_time, source_version, party_id, link_type, link_score, linked_at, match_explanation)
       values ${chunk.map(() => '(?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?, now(), ?::jsonb)').join(', ')}`,
      chunk.flatMap((w) => [
        w.id,
        w.change.system,
        w.change.sourceId,
        JSON.stringify(w.raw),
        JSON.stringify(w.change.attributes),
        w.profile,
        w.sourceTime,
        w.sourceVersion,
        w.partyId,
        w.link?.linkType ?? 'NEW',
        w.link?.score ?? null,
        JSON.stringify(w.explanation),
      ]),
    );
  }
  for (const chunk of chunked(stored)) {
    // A stored record keeps its golden record here (moves are applied one at a time); its explanation is
    // refreshed unless a steward linked it by hand.
    await executeBound(
      em,
      `update source_record sr set raw = v.raw::jsonb, attributes = v.attributes::jsonb, match_profile = v.profile::jsonb, source_time = v.source_time::timestamptz,
              source_version = v.source_version::bigint, deleted = false, updated_at = now(),
              match_explanation = case when sr.link_type = 'MANUAL' or v.explanation is null then sr.match_explanation else v.explanation::jsonb end
         from (values ${chunk.map(() => '(?::uuid, ?, ?, ?, ?, ?, ?)').join(', ')}) as v(id, raw, attributes, profile, source_time, source_version, explanation)
        where sr.id = v.id`,
      chunk.flatMap((w) => [
        w.id,
        JSON.stringify(w.raw),
        JSON.stringify(w.change.attributes),
        w.profile,
        w.sourceTime?.toISOString() ?? null,
        w.sourceVersion,
        w.explanation ? JSON.stringify(w.explanation) : null,
      ]),
    );
  }
  for (const chunk of chunked([...segment.touches])) {
    await executeBound(
      em,
      `update source_record sr set raw = v.raw::jsonb, source_time = v.source_time::timestamptz, source_version = v.source_version::bigint, updated_at = now()
         from (values ${chunk.map(() => '(?::uuid, ?, ?, ?)').join(', ')}) as v(id, raw, source_time, source_version) where sr.id = v.id`,
      chunk.flatMap(([id, t]) => [id, JSON.stringify(t.raw), t.sourceTime?.toISOString() ?? null, t.sourceVersion]),
    );
  }
  const replaced = stored.map((w) => w.id);
  for (const chunk of chunked(replaced, 1000)) {
    const list = chunk.map(() => '?').join(', ');
    await executeBound(em, `delete from match_key where source_record_id in (${list})`, chunk);
    await executeBound(em, `delete from party_identifier where source_record_id in (${list})`, chunk);
    await executeBound(em, `delete from contact_point where source_record_id in (${list})`, chunk);
  }
  await insertMatchKeys(
    em,
    [...segment.keys].flatMap(([id, keys]) => keys.map((k) => [k, id] as const)),
  );
  await insertContributions(
    em,
    writes.map((w) => ({ recordId: w.id, partyId: w.partyId, change: w.change })),
  );
  for (const chunk of chunked([...segment.reviews.values()])) {
    await executeBound(
      em,
      `insert into review_task (id, source_record_id, candidate_party_id, probability, explanation) values ${chunk.map(() => '(gen_random_uuid(), ?, ?, ?, ?::jsonb)').join(', ')}
       on conflict (source_record_id, candidate_party_id) where status = 'OPEN' do update set probability = excluded.probability, explanation = excluded.explanation`,
      chunk.flatMap((r) => [r.recordId, r.partyId, r.probability, JSON.stringify(r.explanation)]),
    );
  }
}
