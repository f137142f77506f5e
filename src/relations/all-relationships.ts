import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { copyRows } from '../db/copy.ts';
import { atLeastLocally } from '../db/local-settings.ts';
import { cursorRows } from '../db/cursor.ts';
import { coResidenceBasis, landlineHomes, maxHousehold, policyRelation } from './relationships.ts';

/**
 * Every customer's derived relationships at once, for a full rescan (`hub risk rescan`, after an initial load or an
 * upgrade). The per-batch derivation (relationships.ts) looks up each customer's policy co-holders and address
 * sharers by index — about 0.8 s per 500 customers on a store of a million, an hour for all of them — where the
 * whole store is a few joins and aggregates that PostgreSQL answers with sequential scans and hashes.
 *
 * The same rules as relationships.ts, over everyone: every pair of active holders of a current policy role on the
 * same policy (both ways round, as when both are in one batch: `policyRelation` reads relation codes from the
 * insured's side), and every pair of active people holding an address no more than maxHousehold people hold and
 * at least one of them holds validly (as when all its holders are in one batch). The stored relationships are then brought to exactly that set (a stale edge between
 * customers merged away or deactivated goes too: a rescan repairs drift). Returns the customers at either end of an
 * edge that appeared, went, or changed family or evidence, in id order — the seeds of their households.
 * Runs in the transaction of `em` (temporary tables of its own); the caller holds off risk settlement meanwhile.
 */
export async function refreshAllRelationships(em: EntityManager): Promise<string[]> {
  // Plans for the whole result: a cursor is planned for its first rows by default (cursor_tuple_fraction 0.1),
  // which picks the nested index lookups this is meant to avoid. Hashes and sorts of a million rows get the memory.
  await executeBound(em, `set local cursor_tuple_fraction = 1`);
  await atLeastLocally(em, 'work_mem', 256);
  await executeBound(
    em,
    `create temporary table all_policy_pair (a uuid, b uuid, kind text, family boolean, system text, policy_no text, roles text) on commit drop`,
  );
  await executeBound(
    em,
    `create temporary table all_edge (a uuid, b uuid, kind text, family boolean, evidence jsonb, source text) on commit drop`,
  );
  await derivePolicyPairs(em);
  // Temporary tables have no statistics until analysed; the anti-join below would be planned for a few rows.
  await executeBound(em, `analyze all_policy_pair`);
  await executeBound(
    em,
    `insert into all_edge (a, b, kind, family, evidence, source)
     select a, b, kind, bool_and(family),
            jsonb_build_object(
              'policies', to_jsonb(array_agg(distinct policy_no collate "C" order by policy_no collate "C")),
              'roles', to_jsonb(array_agg(distinct roles collate "C" order by roles collate "C"))),
            min(system)
       from all_policy_pair group by a, b, kind`,
  );
  await executeBound(
    em,
    `insert into all_edge (a, b, kind, family, evidence, source)
     with holders as (
       select cp.search_key, array_agg(distinct cp.party_id) as parties
         from contact_point cp join party p on p.id = cp.party_id and p.status = 'ACTIVE' and p.kind = 'PERSON'
        where cp.kind = 'ADDRESS' and cp.search_key is not null and cp.search_key <> ''
        group by 1 having count(distinct cp.party_id) between 2 and ? and bool_or(cp.valid)
       union all ${landlineHomes("cp.search_key <> ''", ' and bool_or(cp.valid)')}),
     pairs as (
       select distinct x as a, y as b from holders, unnest(parties) x, unnest(parties) y where x < y),
     basis as (
       select pairs.a, pairs.b, ${coResidenceBasis}
         from pairs join party pa on pa.id = pairs.a join party pb on pb.id = pairs.b)
     select a, b, 'CO_RESIDENT', true,
            jsonb_build_object('basis', to_jsonb(array_remove(array['SAME_ADDRESS',
              case when landline then 'SAME_LANDLINE' end,
              case when same_name then 'SAME_FAMILY_NAME' end,
              case when minor then 'MINOR_WITH_ADULT' end], null))),
            'hub'
       from basis where landline or same_name or minor`,
    [maxHousehold, maxHousehold],
  );
  await executeBound(em, `analyze all_edge`);
  const gone = await executeBound<{ a: string; b: string }[]>(
    em,
    `delete from relationship r
      where not exists (select 1 from all_edge e where e.a = r.party_a and e.b = r.party_b and e.kind = r.kind)
      returning party_a::text as a, party_b::text as b`,
  );
  const fresh = await executeBound<{ a: string; b: string }[]>(
    em,
    `insert into relationship (party_a, party_b, kind, family, evidence, source)
     select a, b, kind, family, evidence, source from all_edge
     on conflict (party_a, party_b, kind) do update
        set family = excluded.family, evidence = excluded.evidence, source = excluded.source, updated_at = now()
      where relationship.family <> excluded.family or relationship.evidence <> excluded.evidence
     returning party_a::text as a, party_b::text as b`,
  );
  const changed = new Set<string>();
  for (const e of [...gone, ...fresh]) changed.add(e.a).add(e.b);
  return [...changed].sort();
}

type Holder = [party: string, role: string, relation: string | null, kind: string];

/**
 * The pairs of every policy's active holders with the kind of relationship each pair of roles makes, into
 * all_policy_pair (a policy at a time: its holders come aggregated, read through a cursor).
 */
async function derivePolicyPairs(em: EntityManager): Promise<void> {
  const policies = cursorRows<{ system: string; policy_no: string; holders: Holder[] }>(
    em,
    'all_policy_holders',
    `select h.system, h.policy_no, json_agg(json_build_array(h.party_id, h.role, h.relation_code, h.kind)) as holders
       from (select distinct sr.party_id::text as party_id, pr.system, pr.policy_no, pr.role, pr.relation_code, p.kind
               from policy_role pr
               join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id and not sr.deleted
               join party p on p.id = sr.party_id and p.status = 'ACTIVE'
              where pr.current and not pr.deleted) h
      group by h.system, h.policy_no
     having count(distinct h.party_id) > 1`,
    [],
    2_000,
  );
  for await (const batch of policies) {
    const rows = new Map<string, unknown[]>();
    for (const { system, policy_no, holders } of batch) {
      const people = new Set(holders.map((h) => h[0])).size;
      for (const mine of holders)
        for (const other of holders) {
          if (mine[0] === other[0]) continue;
          const { kind, family } = policyRelation(
            {
              my_role: mine[1],
              other_role: other[1],
              my_rel: mine[2],
              other_rel: other[2],
              my_kind: mine[3],
              other_kind: other[3],
            },
            people,
          );
          const [a, b] = mine[0] < other[0] ? [mine[0], other[0]] : [other[0], mine[0]];
          const roles = [mine[1], other[1]].sort().join('-');
          const key = `${a}\u0000${b}\u0000${kind}\u0000${system}\u0000${policy_no}\u0000${roles}`;
          if (!rows.has(key)) rows.set(key, [a, b, kind, family, system, policy_no, roles]);
        }
    }
    await copyRows(em, 'all_policy_pair', ['a', 'b', 'kind', 'family', 'system', 'policy_no', 'roles'], rows.values());
  }
}
