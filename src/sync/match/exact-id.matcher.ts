import { marks } from '../../db/sql-sets.ts';
import { executeBound } from '../../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../../domain/canonical.ts';
import type { Matcher, MatchDecision, MatchSubject } from './matcher.ts';

/**
 * Links only on an exact, checksum-valid resident id number (身份证) of an active golden person. Invalid ids are
 * never used as evidence: a typo would otherwise merge two different people. The baseline the probabilistic
 * matcher is measured against.
 */
function residentIds(attributes: PartyAttributes): string[] {
  if (attributes.kind !== 'PERSON') return [];
  return attributes.identifiers
    .filter((i) => i.type === 'RESIDENT_ID' && i.valid && i.value !== null)
    .map((i) => i.value as string);
}

export const exactResidentIdMatcher: Matcher = {
  name: 'exact-resident-id',
  keys: (attributes) => residentIds(attributes).map((id) => `id:${id}`),
  matchesPair: (a, b) => residentIds(a).some((id) => residentIds(b).includes(id)),
  async match(em: EntityManager, subject: MatchSubject): Promise<MatchDecision> {
    const ids = residentIds(subject.attributes);
    if (ids.length === 0) return { matches: [], possible: [] };
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct pi.party_id from party_identifier pi join party p on p.id = pi.party_id
        where pi.type = 'RESIDENT_ID' and pi.valid and pi.value in (${marks(ids.length)}) and p.status = 'ACTIVE'
          and pi.source_record_id <> ?
          and pi.party_id not in (select party_id from match_rejection where source_record_id = ?)`,
      [...ids, subject.recordId, subject.recordId],
    );
    return {
      matches: rows.map((r) => ({
        partyId: r.party_id,
        probability: 1,
        linkType: 'EXACT_ID' as const,
        explanation: {
          decision: 'MATCH',
          probability: 1,
          candidatePartyId: r.party_id,
          comparisons: [{ comparison: 'idNumber', level: 'exact valid resident id', weight: 0 }],
          note: 'same valid resident id number',
        },
      })),
      possible: [],
    };
  },
};
