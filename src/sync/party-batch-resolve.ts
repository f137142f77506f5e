import { randomUUID } from 'node:crypto';
import type { PartyUpsert } from '../domain/canonical.ts';
import type { MatchExplanation } from '../model/source-record.entity.ts';
import type { BatchMatching, MatchCandidate, PartyEvidence } from './match/matcher.ts';
import { type HistoryCause } from './survivorship.ts';
import type { SyncDeps } from './sync-deps.ts';
import { type RecordState, type Blocks, type RecordWrite, type Segment } from './party-batch-types.ts';

/**
 * The in-memory decisions of set-based identity resolution (apply-parties.ts): each change is matched against
 * the candidates the store and the batch so far give it, and its writes are queued in the segment.
 */
/**
 * Decides one changed or new record in memory and queues its writes; null when the decision would reshape
 * golden records (the caller then applies the change one at a time). Mirrors resolveLink in identity.ts.
 */
export function resolveInMemory(
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
      (party) => [...(blocks.members.get(party)?.values() ?? [])],
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
  // The record as a member of its golden record now (a party not loaded is not a candidate's: nothing to add to).
  blocks.members.get(partyId)?.set(recordId, candidate);
  if (newParty) blocks.members.set(partyId, new Map([[recordId, candidate]]));
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
export function addedTo(segment: Segment, partyId: string, recordId: string): number {
  const linked = segment.linked.get(partyId);
  return linked ? linked.size - (linked.has(recordId) ? 1 : 0) : 0;
}

/** The candidates a record would get from the store right now: usable blocks, without itself and rejected parties. */
export function candidatesOf(
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

export function touch(segment: Segment, state: RecordState, change: PartyUpsert): void {
  const pending = segment.records.get(state.id);
  if (pending) {
    pending.change = change; // the same attributes; a folded change also brings its new fold
    pending.raw = change.raw;
    pending.sourceTime = change.sourceTime;
    pending.sourceVersion = change.sourceVersion;
    return;
  }
  segment.touches.set(state.id, {
    raw: change.raw,
    sourceTime: change.sourceTime,
    sourceVersion: change.sourceVersion,
    fold: change.fold ?? null,
  });
}
