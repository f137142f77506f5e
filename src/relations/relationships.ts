import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks, uniqueIds } from '../db/sql-sets.ts';
import { stableJson } from '../domain/stable-json.ts';

/**
 * The relationship graph between golden records, derived from what the sources say:
 *   - policy roles: a person who holds or pays for a policy on another person's life is family (in China a
 *     person has an insurable interest only in themselves, a spouse, children and parents — others need the
 *     insured's consent, rare on individual business); a beneficiary with a family relation code is family, one
 *     without is related through the policy; an organisation holding a policy on a person is an employer;
 *   - co-residence: the same full address held by a handful of customers, together with the same landline, the
 *     same family name, or a minor living with an adult (an address alone can be a fraud ring's mailing address;
 *     a surname alone says little).
 * Derived edges are recomputed for the customers a batch touched, so a merge or a split carries relationships
 * along (a merged-away record loses its edges, the survivor derives them from all its source records).
 */
export type RelationshipKind = 'SPOUSE' | 'PARENT_CHILD' | 'FAMILY' | 'CO_RESIDENT' | 'POLICY' | 'EMPLOYMENT';
export const relationshipKinds: readonly RelationshipKind[] = [
  'SPOUSE',
  'PARENT_CHILD',
  'FAMILY',
  'CO_RESIDENT',
  'POLICY',
  'EMPLOYMENT',
];
export type Edge = {
  a: string;
  b: string;
  kind: RelationshipKind;
  family: boolean;
  /** Why: the policies and roles, or the basis of co-residence. No personal values (it is shown to stewards). */
  evidence: { policies?: string[]; roles?: string[]; basis?: string[] };
  source: string;
};

/** A policy naming more people than this is group business, not a family's: its people are related, not family. */
const maxFamilyPolicy = 8;
/** An address held by more customers than this is a building or a facility, not one household's home. */
export const maxHousehold = 8;

const edgeKey = (e: Pick<Edge, 'a' | 'b' | 'kind'>) => `${e.a}\u0000${e.b}\u0000${e.kind}`;

/** Two holders of roles on one policy, one of them the customer whose relationships are derived ("my"). */
type RolePair = {
  my_role: string;
  other_role: string;
  my_rel: string | null;
  other_rel: string | null;
  my_kind: string;
  other_kind: string;
};

/** Which kind a pair of role holders on one policy is, from their roles and relation codes. */
export function policyRelation(r: RolePair, peopleOnPolicy: number): { kind: RelationshipKind; family: boolean } {
  if (r.my_kind !== 'PERSON' || r.other_kind !== 'PERSON') return { kind: 'EMPLOYMENT', family: false };
  if (peopleOnPolicy > maxFamilyPolicy) return { kind: 'POLICY', family: false };
  // Relation codes are relative to the insured: they say how the other holder relates to the insured one.
  const relToInsured = r.my_role === 'INSURED' ? r.other_rel : r.other_role === 'INSURED' ? r.my_rel : null;
  if (relToInsured === 'SPOUSE') return { kind: 'SPOUSE', family: true };
  if (relToInsured === 'CHILD' || relToInsured === 'PARENT') return { kind: 'PARENT_CHILD', family: true };
  if (relToInsured === 'OTHER') return { kind: 'POLICY', family: false };
  const roles = new Set([r.my_role, r.other_role]);
  // A beneficiary without a family relation code may be anyone (a creditor, a friend): related, not family.
  if (roles.has('BENEFICIARY')) return { kind: 'POLICY', family: false };
  if (roles.has('INSURED') || (roles.has('POLICYHOLDER') && roles.has('PAYER')))
    return { kind: 'FAMILY', family: true };
  return { kind: 'POLICY', family: false };
}

/**
 * Everyone who holds a role on the policies of the given customers, one row per holder and role (not one per
 * pair of roles, as a self-join would return: ~3× the rows in a catch-up); the pairs are formed here.
 */
async function policyEdges(em: EntityManager, partyIds: readonly string[]): Promise<Edge[]> {
  const holders = await executeBound<
    { party: string; system: string; policy_no: string; role: string; rel: string | null; kind: string }[]
  >(
    em,
    `with mine as (
       select distinct pr.system, pr.policy_no
         from source_record sr join policy_role pr on pr.system = sr.system and pr.client_source_id = sr.source_id and pr.current and not pr.deleted
        where sr.party_id in (${marks(partyIds.length)}) and not sr.deleted)
     select distinct o.party_id::text as party, m.system, m.policy_no, pr.role, pr.relation_code as rel, po.kind
       from mine m
       join policy_role pr on pr.system = m.system and pr.policy_no = m.policy_no and pr.current and not pr.deleted
       join source_record o on o.system = pr.system and o.source_id = pr.client_source_id and not o.deleted and o.party_id is not null
       join party po on po.id = o.party_id and po.status = 'ACTIVE'`,
    [...partyIds],
  );
  const onPolicy = new Map<string, typeof holders>();
  for (const h of holders) {
    const k = `${h.system}\u0000${h.policy_no}`;
    const list = onPolicy.get(k);
    if (list) list.push(h);
    else onPolicy.set(k, [h]);
  }
  const given = new Set(partyIds);
  const edges = new Map<string, Edge>();
  for (const list of onPolicy.values()) {
    const people = new Set(list.map((h) => h.party)).size;
    for (const mine of list) {
      if (!given.has(mine.party)) continue;
      for (const other of list) {
        if (mine.party === other.party) continue;
        const r: RolePair = {
          my_role: mine.role,
          other_role: other.role,
          my_rel: mine.rel,
          other_rel: other.rel,
          my_kind: mine.kind,
          other_kind: other.kind,
        };
        const { kind, family } = policyRelation(r, people);
        const [a, b] = mine.party < other.party ? [mine.party, other.party] : [other.party, mine.party];
        const key = edgeKey({ a, b, kind });
        const edge = edges.get(key) ?? {
          a,
          b,
          kind,
          family,
          evidence: { policies: [], roles: [] },
          source: mine.system,
        };
        const roles = [r.my_role, r.other_role].sort().join('-');
        edge.evidence.policies = [...new Set([...(edge.evidence.policies ?? []), mine.policy_no])].sort();
        edge.evidence.roles = [...new Set([...(edge.evidence.roles ?? []), roles])].sort();
        edges.set(key, edge);
      }
    }
  }
  return [...edges.values()];
}

/**
 * What co-residence rests on besides the address, for each pair of `pairs (a, b)` (their parties joined as pa and
 * pb): the same landline, the same family name, a minor with an adult. Shared by the per-batch derivation and the
 * whole-store one (all-relationships.ts).
 */
export const coResidenceBasis = `exists (select 1 from contact_point l1 join contact_point l2 on l2.search_key = l1.search_key and l2.kind = 'LANDLINE' and l2.party_id = pairs.b
                     where l1.party_id = pairs.a and l1.kind = 'LANDLINE' and l1.search_key is not null) as landline,
            coalesce(pa.family_name = pb.family_name, false) as same_name,
            coalesce(least(pa.birth_date, pb.birth_date) <= current_date - interval '18 years' and greatest(pa.birth_date, pb.birth_date) > current_date - interval '18 years', false) as minor`;

/**
 * Holders of one address who also share one landline, per (address, landline), as `(search_key, parties)` — the
 * second source of co-residents beside the holders of an address. An address written without its flat (a building:
 * 人民路69号) is held by more than `maxHousehold` customers and gives no co-residents by itself; a landline is one
 * home's, so those of its holders who share one are a household. Without it, a family's children who are on no
 * policy stayed outside its household, and their shared landline counted as a network of three unrelated
 * customers (bench:quality). One `?`: maxHousehold; `addresses` says which addresses (a condition on cp).
 */
export const landlineHomes = (addresses: string, having = '') =>
  `select cp.search_key || '|' || l.search_key as search_key, array_agg(distinct cp.party_id) as parties
     from contact_point cp
     join party p on p.id = cp.party_id and p.status = 'ACTIVE' and p.kind = 'PERSON'
     join contact_point l on l.party_id = cp.party_id and l.kind = 'LANDLINE' and l.search_key is not null
    where cp.kind = 'ADDRESS' and ${addresses}
    group by cp.search_key, l.search_key having count(distinct cp.party_id) between 2 and ?${having}`;

async function coResidenceEdges(em: EntityManager, partyIds: readonly string[]): Promise<Edge[]> {
  // Pairs holding the same address key, where at most maxHousehold active customers hold it; with whether
  // they also share a landline, and their family names.
  const rows = await executeBound<{ a: string; b: string; landline: boolean; same_name: boolean; minor: boolean }[]>(
    em,
    `with addr as (
       select distinct search_key from contact_point where party_id in (${marks(partyIds.length)}) and kind = 'ADDRESS' and search_key is not null and search_key <> '' and valid),
     holders as (
       select cp.search_key, array_agg(distinct cp.party_id) as parties from contact_point cp join party p on p.id = cp.party_id and p.status = 'ACTIVE' and p.kind = 'PERSON'
        where cp.kind = 'ADDRESS' and cp.search_key in (select search_key from addr) group by 1 having count(distinct cp.party_id) between 2 and ?
       union all ${landlineHomes('cp.search_key in (select search_key from addr)')}),
     pairs as (
       select distinct x as a, y as b from holders, unnest(parties) x, unnest(parties) y where x < y)
     select pairs.a::text as a, pairs.b::text as b, ${coResidenceBasis}
       from pairs join party pa on pa.id = pairs.a join party pb on pb.id = pairs.b
      where pairs.a in (${marks(partyIds.length)}) or pairs.b in (${marks(partyIds.length)})`,
    [...partyIds, maxHousehold, maxHousehold, ...partyIds, ...partyIds],
  );
  return rows
    .filter((r) => r.landline || r.same_name || r.minor)
    .map((r) => ({
      a: r.a,
      b: r.b,
      kind: 'CO_RESIDENT',
      family: true,
      evidence: {
        basis: [
          'SAME_ADDRESS',
          ...(r.landline ? ['SAME_LANDLINE'] : []),
          ...(r.same_name ? ['SAME_FAMILY_NAME'] : []),
          ...(r.minor ? ['MINOR_WITH_ADULT'] : []),
        ],
      },
      source: 'hub',
    }));
}

type StoredEdge = Edge & { evidenceJson: string };

async function storedEdges(em: EntityManager, partyIds: readonly string[]): Promise<StoredEdge[]> {
  const rows = await executeBound<
    { a: string; b: string; kind: RelationshipKind; family: boolean; evidence: Edge['evidence']; source: string }[]
  >(
    em,
    `select party_a::text as a, party_b::text as b, kind, family, evidence, source from relationship
      where party_a in (${marks(partyIds.length)}) or party_b in (${marks(partyIds.length)})`,
    [...partyIds, ...partyIds],
  );
  return rows.map((r) => ({ ...r, evidenceJson: stableJson(r.evidence) }));
}

/**
 * Recomputes the derived relationships of a set of customers (every edge touching one of them); returns the
 * customers at either end of an edge that appeared, disappeared or changed kind — whose households and network
 * counts may change.
 */
export async function refreshRelationships(em: EntityManager, partyIds: readonly string[]): Promise<Set<string>> {
  const changed = new Set<string>();
  for (const slice of chunked(uniqueIds(partyIds), 500)) {
    const before = await storedEdges(em, slice);
    const derived = [...(await policyEdges(em, slice)), ...(await coResidenceEdges(em, slice))];
    const inSlice = new Set(slice);
    const after = new Map<string, Edge>();
    for (const e of derived) if (inSlice.has(e.a) || inSlice.has(e.b)) after.set(edgeKey(e), e);
    const old = new Map(before.map((e) => [edgeKey(e), e]));
    const gone = before.filter((e) => !after.has(edgeKey(e)));
    const fresh = [...after.values()].filter((e) => {
      const o = old.get(edgeKey(e));
      return !o || o.family !== e.family || o.evidenceJson !== stableJson(e.evidence);
    });
    for (const e of [...gone, ...fresh]) changed.add(e.a).add(e.b);
    if (gone.length > 0)
      await executeBound(
        em,
        `delete from relationship where (party_a, party_b, kind) in (${marks(gone.length, '(?::uuid, ?::uuid, ?)')})`,
        gone.flatMap((e) => [e.a, e.b, e.kind]),
      );
    for (const part of chunked(fresh, 1000))
      await executeBound(
        em,
        `insert into relationship (party_a, party_b, kind, family, evidence, source)
         values ${marks(part.length, '(?::uuid, ?::uuid, ?, ?, ?::jsonb, ?)')}
         on conflict (party_a, party_b, kind) do update set family = excluded.family, evidence = excluded.evidence, source = excluded.source, updated_at = now()`,
        part.flatMap((e) => [e.a, e.b, e.kind, e.family, JSON.stringify(e.evidence), e.source]),
      );
  }
  return changed;
}

/** Relationships among a set of customers (both ends inside it): what the network rules count sharers by. */
export async function edgesAmong(
  em: EntityManager,
  partyIds: readonly string[],
): Promise<{ a: string; b: string; kind: RelationshipKind; family: boolean }[]> {
  if (partyIds.length === 0) return [];
  return executeBound(
    em,
    `select party_a::text as a, party_b::text as b, kind, family from relationship
      where party_a = any(?::uuid[]) and party_b = any(?::uuid[])`,
    [partyIds, partyIds],
  );
}
