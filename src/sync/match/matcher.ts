import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../../connectors/framework/canonical.ts';

/**
 * The plug point of identity resolution. The sync step asks the matcher, for a source record that is not yet
 * linked, which golden party it belongs to. The foundation ships an exact-resident-id matcher; the full engine
 * (blocking, probabilistic scoring, review queue, merge/unmerge) replaces it behind this same type.
 */
export type MatchDecision =
  | { kind: 'LINK'; partyId: string; linkType: 'EXACT_ID'; score: number; explanation: string }
  | { kind: 'NEW'; explanation: string };

export type MatchSubject = { system: string; sourceId: string; attributes: PartyAttributes };

export type Matcher = {
  readonly name: string;
  match(em: EntityManager, subject: MatchSubject): Promise<MatchDecision>;
};
