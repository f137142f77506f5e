import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../../connectors/framework/canonical.ts';
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

export type MatchSubject = { recordId: string; system: string; sourceId: string; attributes: PartyAttributes };

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
};
