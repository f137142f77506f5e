import type { AttributeVersions, PartyAttributes, PartyDelete, PartyUpsert } from '../domain/canonical.ts';
import type { MatchExplanation } from '../model/source-record.entity.ts';
import type { MatchCandidate } from './match/matcher.ts';
import { stableJson } from '../domain/stable-json.ts';
import { equalVersionReplaces } from './record-order.ts';

/** The in-memory state of set-based identity resolution of one batch (apply-parties.ts). */
export type PartyChange = PartyUpsert | PartyDelete;

/** A source record as the batch currently sees it. */
export type RecordState = {
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
export type Blocks = {
  stored: Map<string, number>;
  candidates: Map<string, MatchCandidate[]>;
  rejections: Map<string, Set<string>>;
  /** Records added to minus removed from each block by this batch since the load. */
  delta: Map<string, number>;
  /** Records this batch (re)keyed since the load, by key. */
  added: Map<string, Map<string, MatchCandidate>>;
  /** Stored records whose stored keys the batch replaced (their store rows no longer count as candidates). */
  replaced: Set<string>;
  /** Every live record of the candidates' golden records (stored, then as this batch links records), by party. */
  members: Map<string, Map<string, MatchCandidate>>;
};

export type RecordWrite = {
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
export type Segment = {
  parties: { id: string; kind: string }[];
  records: Map<string, RecordWrite>;
  touches: Map<
    string,
    { raw: Record<string, unknown>; sourceTime: Date | null; sourceVersion: string; fold: AttributeVersions | null }
  >;
  keys: Map<string, string[]>;
  reviews: Map<string, { recordId: string; partyId: string; probability: number; explanation: MatchExplanation }>;
  /** Records the segment linked to each golden record (they make it not alone). */
  linked: Map<string, Set<string>>;
};

export const recordKey = (system: string, sourceId: string) => `${system}\u0000${sourceId}`;
export const newSegment = (): Segment => ({
  parties: [],
  records: new Map(),
  touches: new Map(),
  keys: new Map(),
  reviews: new Map(),
  linked: new Map(),
});
/**
 * A change no newer than its record is stale — except a folded change event (fold-events.ts), which carries the
 * record's own version when it arrived late and was folded in its place.
 */
export const isStale = (
  state: { version: bigint; deleted: boolean; attributes: PartyAttributes | null } | undefined,
  change: PartyChange,
): boolean => {
  if (state === undefined || (change.op === 'upsert' && change.fold !== undefined)) return false;
  const version = BigInt(change.sourceVersion);
  if (state.version !== version) return state.version > version;
  // One version, two payloads (a payer carried by two payments of the same instant on two partitions): the
  // content decides, not which partition was read first (record-order.ts).
  return !(change.op === 'upsert' && equalVersionReplaces(state.deleted ? null : state.attributes, change.attributes));
};
export const sameJson = (a: unknown, b: unknown) =>
  stableJson(JSON.parse(JSON.stringify(a ?? null))) === stableJson(JSON.parse(JSON.stringify(b ?? null)));
/**
 * `sameJson` for party attributes, each object's canonical text worked out once: a batch compares every change's
 * attributes with its stored record's twice (deciding, and choosing the blocks to load), and most changes are
 * repeats. The sync step never mutates an attributes object (the matcher caches its keys per object too).
 */
const canonicalText = new WeakMap<object, string>();
const canonical = (a: object): string => {
  let text = canonicalText.get(a);
  if (text === undefined) canonicalText.set(a, (text = stableJson(JSON.parse(JSON.stringify(a)))));
  return text;
};
export const sameAttributes = (a: PartyAttributes | null, b: PartyAttributes | null) =>
  a === null || b === null ? a === b : canonical(a) === canonical(b);
/** A folded record's per-attribute state as a jsonb parameter; null for records sent whole. */
export const foldJson = (fold: AttributeVersions | undefined): string | null =>
  fold === undefined ? null : JSON.stringify(fold);
