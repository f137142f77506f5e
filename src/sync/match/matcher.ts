import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../../domain/canonical.ts';
import type { MatchExplanation } from '../../model/source-record.entity.ts';

/**
 * The plug point of identity resolution: given one source record, which golden parties does the evidence say
 * it belongs to? The matcher only scores; src/sync/identity.ts turns its answer into links, merges, unmerges
 * and review tasks. Two implementations: exact valid resident id (exact-id.matcher.ts) and the probabilistic
 * engine (probabilistic.matcher.ts, the default).
 */
export type PartyEvidence = {
  partyId: string;
  probability: number;
  linkType: 'EXACT_ID' | 'PROBABILISTIC';
  explanation: MatchExplanation;
};

export type MatchDecision = {
  /** Parties the record matches (probability ≥ the match threshold, or a deterministic rule). */
  matches: PartyEvidence[];
  /** Parties it possibly matches: a data steward decides (review queue). */
  possible: PartyEvidence[];
};

export type MatchSubject = {
  recordId: string;
  system: string;
  sourceId: string;
  attributes: PartyAttributes;
  /** The matcher's profile of `attributes` (`Matcher.profile`), when the caller holds it already: not made again. */
  profile?: unknown;
};

/** A live source record of an active golden record that shares a usable blocking key with the subject. */
export type MatchCandidate = {
  recordId: string;
  partyId: string;
  system: string;
  sourceId: string;
  profile: unknown | null;
  attributes: PartyAttributes | null;
};

/**
 * The in-memory half of a matcher, so that a whole batch can be resolved set-wise (src/sync/apply-parties.ts):
 * the caller finds blocks and candidates for all of a batch's records in a few statements, and the matcher
 * decides each record against its candidates exactly as `match` would against the store.
 */
export type BatchMatching = {
  /**
   * Blocks of `key` are counted up to this many records; a count at the limit stands for "too big". Per key,
   * because the caps differ by rule: a weak key (a family name) is skipped above 20 records, and counting its
   * block further is wasted index reading.
   */
  countLimit(key: string): number;
  /** Whether a block of `size` records (the subject's own stored key included) is evidence; bigger ones are skipped. */
  usable(key: string, size: number): boolean;
  /**
   * The decision for a subject given the candidates of its usable blocks (the subject itself and rejected
   * parties left out). `membersOf` gives every live record of a candidate's golden record: a subject joins a
   * golden record only when it matches the record as a whole (no member conflicts, members match on average).
   */
  decide(
    subject: MatchSubject,
    candidates: readonly MatchCandidate[],
    membersOf?: (partyId: string) => readonly MatchCandidate[],
  ): MatchDecision;
};

export type Matcher = {
  readonly name: string;
  /** Must not return the subject's own record, and must leave out parties rejected for this record. */
  match(em: EntityManager, subject: MatchSubject): Promise<MatchDecision>;
  /** Blocking keys of a record; the sync step stores them and locks them while matching (concurrency). */
  keys(attributes: PartyAttributes): string[];
  /** The matcher's normalised view of a record, stored with it so candidates need no re-normalisation. */
  profile?(attributes: PartyAttributes): unknown;
  /** Whether two records of one golden record still match each other (used to split a party whose links broke). */
  matchesPair(a: PartyAttributes, b: PartyAttributes): boolean;
  /** Present when the matcher can resolve a batch set-wise; without it, records are matched one by one. */
  batch?: BatchMatching;
  /**
   * Whether two golden records (their live records) match as wholes, for a record that bridges them: null when
   * they do, else why not. Without it, a bridge merges what it matches.
   */
  wholeMatch?(a: readonly MatchCandidate[], b: readonly MatchCandidate[]): string | null;
  /** Blocking keys of a candidate (from its profile, or its attributes), as `keys` gives them. */
  candidateKeys?(candidate: MatchCandidate): string[];
  /**
   * Whether clustering may join two records directly (a MATCH pair as `cluster` decides it): the links the
   * resolution pass walks to find what it must cluster together.
   */
  linked?(a: MatchCandidate, b: MatchCandidate): boolean;
  /**
   * Clusters a neighbourhood of records as the batch engine would, independent of their order: the cluster
   * number of each record (src/sync/resolve.ts repairs what arrival order decided differently). Pairs come only
   * from blocks whose key `usable` accepts — the caller decides by the block's size in the whole store, so that
   * the pairs, and so the clusters, do not depend on which other records the neighbourhood happens to hold.
   */
  cluster?(records: readonly MatchCandidate[], usable: (key: string) => boolean): number[];
};
