import type { EntityManager } from '@mikro-orm/postgresql';
import type { Matcher, MatchDecision, MatchSubject } from './matcher.ts';

/**
 * Links only on an exact, checksum-valid resident id number (身份证) of an active golden person. Invalid ids are
 * never used as evidence: a typo would otherwise merge two different people.
 */
export const exactResidentIdMatcher: Matcher = {
  name: 'exact-resident-id',
  async match(em: EntityManager, subject: MatchSubject): Promise<MatchDecision> {
    const ids = subject.attributes.identifiers.filter((i) => i.type === 'RESIDENT_ID' && i.valid && i.value !== null).map((i) => i.value as string);
    if (subject.attributes.kind !== 'PERSON' || ids.length === 0) return { kind: 'NEW', explanation: 'no valid resident id to link on' };
    const rows = await em.execute<{ party_id: string }[]>(
      `select pi.party_id from party_identifier pi join party p on p.id = pi.party_id
        where pi.type = 'RESIDENT_ID' and pi.valid and pi.value in (${ids.map(() => '?').join(', ')}) and p.status = 'ACTIVE'
        order by p.created_at limit 1`,
      ids,
    );
    const hit = rows[0];
    if (!hit) return { kind: 'NEW', explanation: 'no golden record holds this resident id' };
    return { kind: 'LINK', partyId: hit.party_id, linkType: 'EXACT_ID', score: 1, explanation: 'same valid resident id number' };
  },
};
