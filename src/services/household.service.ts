import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import { type InvalidState, invalidState, type NotFound, notFound } from '../domain/results.ts';
import { type HouseholdCorrection, moveToHousehold, splitHousehold } from '../relations/households.ts';
import { type RelationshipKind, relationshipKinds } from '../relations/relationships.ts';
import { newRiskWork, queueRiskWork } from '../risk/risk-work.ts';
import { decodeCursor, encodeCursor, pageOf, pageSize } from './pagination.ts';

/**
 * Households and relationships for the customer 360, and the steward's corrections of households. A
 * correction queues the risk re-evaluation of everyone it touched (their network rules count them differently
 * now), settled by the risk worker like any batch's.
 */
export type HouseholdRow = { id: string; status: string; version: number; viewedFrom: string | null };
export type HouseholdMemberRow = {
  partyId: string;
  relation: RelationshipKind | null;
  pinned: boolean;
  since: Date;
};
export type HouseholdChangeRow = {
  version: number;
  action: string;
  customerId: string | null;
  actor: string;
  reason: string | null;
  at: Date;
};
export type RelationshipRow = {
  kind: RelationshipKind;
  family: boolean;
  partyId: string;
  policies: string[];
  roles: string[];
  basis: string[];
  source: string;
  updatedAt: Date;
};

/** Strongest first: the order relationships are listed in, and which kind names a member's relation. */
const strength = (k: RelationshipKind) => relationshipKinds.indexOf(k);

export class HouseholdService {
  private readonly em: EntityManager;
  private readonly actor: string;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
  }

  async householdOf(partyId: string): Promise<HouseholdRow | null> {
    const [row] = await executeBound<Omit<HouseholdRow, 'viewedFrom'>[]>(
      this.em,
      `select h.id::text as id, h.status, h.version from household_member m join household h on h.id = m.household_id where m.party_id = ?`,
      [partyId],
    );
    return row ? { ...row, viewedFrom: partyId } : null;
  }

  async members(household: HouseholdRow): Promise<HouseholdMemberRow[]> {
    const rows = await executeBound<
      { party_id: string; pinned: boolean; since: Date; kinds: RelationshipKind[] | null }[]
    >(
      this.em,
      `select m.party_id::text as party_id, m.pinned, m.since,
              (select array_agg(r.kind) from relationship r
                where r.family and ((r.party_a = m.party_id and r.party_b = ?::uuid) or (r.party_b = m.party_id and r.party_a = ?::uuid))) as kinds
         from household_member m where m.household_id = ? order by m.since, m.party_id`,
      [household.viewedFrom, household.viewedFrom, household.id],
    );
    return rows.map((r) => ({
      partyId: r.party_id,
      relation: [...(r.kinds ?? [])].sort((a, b) => strength(a) - strength(b))[0] ?? null,
      pinned: r.pinned,
      since: r.since,
    }));
  }

  history(householdId: string): Promise<HouseholdChangeRow[]> {
    return executeBound<HouseholdChangeRow[]>(
      this.em,
      `select version, action, party_id::text as "customerId", actor, reason, at from household_history where household_id = ? order by id`,
      [householdId],
    );
  }

  async relationships(
    partyId: string,
    args: { kinds?: readonly RelationshipKind[] | null; first?: number | null; after?: string | null },
  ) {
    const limit = pageSize(args.first);
    const after = decodeCursor(
      args.after,
      'relationship',
      (v): v is [number, string] => Array.isArray(v) && v.length === 2,
    );
    const kinds = args.kinds && args.kinds.length > 0 ? [...args.kinds] : [...relationshipKinds];
    const rows = await executeBound<(RelationshipRow & { rank: number })[]>(
      this.em,
      `select * from (
         select r.kind, r.family, case when r.party_a = ?::uuid then r.party_b else r.party_a end::text as "partyId",
                coalesce(array(select jsonb_array_elements_text(r.evidence->'policies')), '{}') as policies,
                coalesce(array(select jsonb_array_elements_text(r.evidence->'roles')), '{}') as roles,
                coalesce(array(select jsonb_array_elements_text(r.evidence->'basis')), '{}') as basis,
                r.source, r.updated_at as "updatedAt", array_position(?::text[], r.kind) as rank
           from relationship r where (r.party_a = ?::uuid or r.party_b = ?::uuid) and r.kind = any(?::text[])) x
        where (?::int is null or (x.rank, x."partyId") > (?::int, ?::text))
        order by x.rank, x."partyId" limit ?`,
      [
        partyId,
        relationshipKinds,
        partyId,
        partyId,
        kinds,
        after?.[0] ?? null,
        after?.[0] ?? null,
        after?.[1] ?? null,
        limit + 1,
      ],
    );
    return pageOf(rows, limit, after !== null, (r) => encodeCursor('relationship', [r.rank, r.partyId]));
  }

  async move(customerId: string, householdId: string | null, reason: string) {
    if (!isUuid(customerId)) return notFound(`customer ${customerId} does not exist`);
    if (householdId !== null && !isUuid(householdId)) return notFound(`household ${householdId} does not exist`);
    return this.correct((em) => moveToHousehold(em, customerId.toLowerCase(), householdId, this.actor, reason));
  }

  async split(householdId: string, customerIds: readonly string[], reason: string) {
    if (!isUuid(householdId)) return notFound(`household ${householdId} does not exist`);
    if (!customerIds.every(isUuid)) return invalidState('every customer id must be a member of the household');
    return this.correct((em) => splitHousehold(em, householdId, customerIds, this.actor, reason));
  }

  private async correct(
    apply: (em: EntityManager) => Promise<HouseholdCorrection>,
  ): Promise<HouseholdRow | NotFound | InvalidState> {
    return this.em.transactional(async (em) => {
      const result = await apply(em);
      if (!result.ok) return result.reason === 'NOT_FOUND' ? notFound(result.message) : invalidState(result.message);
      const work = newRiskWork();
      for (const id of result.affected) work.evaluate.add(id);
      await queueRiskWork(em, work);
      const [row] = await executeBound<Omit<HouseholdRow, 'viewedFrom'>[]>(
        em,
        `select id::text as id, status, version from household where id = ?`,
        [result.householdId],
      );
      return { ...(row as Omit<HouseholdRow, 'viewedFrom'>), viewedFrom: null };
    });
  }
}
