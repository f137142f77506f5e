import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { householdOf } from '../relations/households.ts';
import { edgesAmong } from '../relations/relationships.ts';
import type { Shared, Sharer } from './alert-types.ts';

/**
 * Network rules count unrelated customers: the holders of a shared phone, address or bank account who are in
 * one household, or related through a policy, count as one party; so do holders with the same name (one person's
 * records resolution kept apart) and holders without a name. A value held by very many customers — a
 * switchboard, a branch address, an agent's mobile, a collection account — is a shared facility, not a ring:
 * above the rule's `maxCustomers` it is not counted and is proposed as an exclusion for a risk admin to decide
 * (network_exclusion). An approved exclusion is never counted; a rejected proposal (a risk admin says it is a
 * ring after all) is counted whatever its size.
 */
export type NetworkContact = 'PHONE' | 'ADDRESS' | 'BANK_ACCOUNT';

/** Groups a key's holders into unrelated parties; each holder says whether it counted and why. */
export function groupSharers(
  parties: readonly string[],
  householdOf: ReadonlyMap<string, string>,
  edges: readonly { a: string; b: string; kind: string }[],
  /** Holders who have the value only from an agent's leads, with the agent: the value is the agent's. */
  leadAgentOf: ReadonlyMap<string, string>,
  /** Each holder's name key; a holder missing here, or with an empty key, has no name. */
  nameOf: ReadonlyMap<string, string>,
): { units: number; sharers: Sharer[] } {
  const sorted = [...new Set(parties)].sort();
  const inKey = new Set(sorted);
  const parent = new Map(sorted.map((id) => [id, id]));
  const why = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  /** Joins y's group to x's: under the smaller root, or under x's when `keep` says x counts (an anonymous y). */
  const union = (x: string, y: string, reason: string, keep = false) => {
    const [a, b] = (keep ? [find(x), find(y)] : [find(x), find(y)].sort()) as [string, string];
    if (a === b) return;
    parent.set(b, a);
    if (!why.has(b)) why.set(b, reason);
  };
  const byHousehold = new Map<string, string>();
  for (const id of sorted) {
    const h = householdOf.get(id);
    if (!h) continue;
    const first = byHousehold.get(h);
    if (first) union(first, id, 'SAME_HOUSEHOLD');
    else byHousehold.set(h, id);
  }
  // Relationships through a policy count; co-residence does only through the household it forms, so that a
  // steward who moves someone out of a household is heard.
  for (const e of [...edges].sort((x, y) => `${x.a}${x.b}${x.kind}`.localeCompare(`${y.a}${y.b}${y.kind}`)))
    if (e.kind !== 'CO_RESIDENT' && inKey.has(e.a) && inKey.has(e.b)) union(e.a, e.b, `RELATED_${e.kind}`);
  // An agent who types their own mobile into their prospects' leads: those prospects count as one party.
  const byAgent = new Map<string, string>();
  for (const id of sorted) {
    const agent = leadAgentOf.get(id);
    if (agent === undefined) continue;
    const first = byAgent.get(agent);
    if (first) union(first, id, 'SAME_AGENT_LEADS');
    else byAgent.set(agent, id);
  }
  // One person's records that resolution kept apart — an agent's lead, an app account, the policy record, each a
  // golden customer of its own until a steward merges them — are that person, not a ring: holders with the same
  // name count as one, and holders without a name (an app account known only by this phone) with the first named
  // holder (or, when no one has a name, with each other). A ring is several people; without this, one person's
  // unmerged records behind their own phone made up most network findings on a generated population.
  const byName = new Map<string, string>();
  const anonymous: string[] = [];
  for (const id of sorted) {
    const name = nameOf.get(id);
    if (!name) {
      anonymous.push(id);
      continue;
    }
    const first = byName.get(name);
    if (first) union(first, id, 'SAME_NAME');
    else byName.set(name, id);
  }
  // Only a group of anonymous holders joins a named one: an anonymous holder already counted with someone (a
  // relative, a housemate) keeps that group as it is, or a named holder in it would be swallowed.
  const named = sorted.find((id) => nameOf.get(id));
  const withName = new Set(sorted.filter((id) => nameOf.get(id)).map(find));
  for (const id of anonymous)
    if (!withName.has(find(id))) union(named ?? (anonymous[0] as string), id, 'NO_NAME', true);
  const sharers = sorted.map((id): Sharer => {
    const root = find(id);
    return root === id
      ? { customer: id, counted: true, why: 'UNRELATED' }
      : { customer: id, counted: false, countedWith: root, why: why.get(id) ?? 'SAME_HOUSEHOLD' };
  });
  return { units: sharers.filter((s) => s.counted).length, sharers };
}

/**
 * Turns the raw sharing of a set (every key held by at least `min` customers) into what the rule counts:
 * unrelated parties, exclusions applied, frequent values proposed.
 */
export async function countUnrelated(
  em: EntityManager,
  contact: NetworkContact,
  byParty: Map<string, Shared[]>,
  opts: { min: number; maxCustomers: number },
  /** Collects holders to evaluate too: of values that just became frequent, and of excluded values an open alert names. */
  revisit?: Set<string>,
): Promise<Map<string, Shared[]>> {
  const keyed = new Map<string, Shared>();
  for (const list of byParty.values()) for (const s of list) keyed.set(s.key, s);
  if (keyed.size === 0) return byParty;
  const keys = [...keyed.keys()].sort();
  const decisions = new Map(
    (
      await executeBound<{ key: string; status: string }[]>(
        em,
        `select key, status from network_exclusion where contact = ? and key = any(?::text[])`,
        [contact, keys],
      )
    ).map((r) => [r.key, r.status]),
  );
  const frequent = keys.filter((k) => (keyed.get(k)?.customers ?? 0) > opts.maxCustomers && !decisions.has(k));
  if (frequent.length > 0)
    await executeBound(
      em,
      `insert into network_exclusion (contact, key, holders, proposed_by, reason)
       select ?, k, h, 'system', 'held by ' || h || ' customers' from unnest(?::text[], ?::int[]) as t(k, h)
       on conflict (contact, key) do update set holders = excluded.holders where network_exclusion.status = 'PROPOSED'`,
      [contact, frequent, frequent.map((k) => keyed.get(k)?.customers ?? 0)],
    );
  for (const k of frequent) for (const id of keyed.get(k)?.parties ?? []) revisit?.add(id);
  const countable = keys.filter((k) => {
    const decision = decisions.get(k);
    if (decision === 'APPROVED') return false;
    return decision === 'REJECTED' || (keyed.get(k)?.customers ?? 0) <= opts.maxCustomers;
  });
  // Holders of an excluded value whose open alert still names it (opened while it counted, e.g. before the
  // value grew past maxCustomers in another round) are evaluated too, so those alerts close.
  const excluded = keys.filter((k) => !countable.includes(k) && !frequent.includes(k));
  if (revisit && excluded.length > 0) {
    const evidenceKey = { PHONE: 'phones', ADDRESS: 'addresses', BANK_ACCOUNT: 'bankAccounts' }[contact];
    const holders = [...new Set(excluded.flatMap((k) => keyed.get(k)?.parties ?? []))];
    const stale = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct a.party_id::text as party_id from alert a, unnest(?::text[]) as k(key)
        where a.party_id = any(?::uuid[]) and a.status <> 'CLOSED'
          and a.evidence @> jsonb_build_object(?::text, jsonb_build_array(jsonb_build_object('key', k.key)))`,
      [excluded, holders, evidenceKey],
    );
    for (const r of stale) revisit.add(r.party_id);
  }
  const parties = [...new Set(countable.flatMap((k) => keyed.get(k)?.parties ?? []))];
  const households = await householdOf(em, parties);
  const edges = await edgesAmong(em, parties);
  const leadAgents =
    contact === 'PHONE' ? await leadOnlyHolders(em, countable) : new Map<string, Map<string, string>>();
  const names = new Map(
    (
      await executeBound<{ id: string; name_key: string | null }[]>(
        em,
        `select id::text as id, name_key from party where id = any(?::uuid[])`,
        [parties],
      )
    ).flatMap((r) => (r.name_key ? [[r.id, r.name_key] as const] : [])),
  );
  const counted = new Map<string, Shared>();
  for (const k of countable) {
    const s = keyed.get(k) as Shared;
    const { units, sharers } = groupSharers(s.parties, households, edges, leadAgents.get(k) ?? new Map(), names);
    if (units >= opts.min)
      counted.set(k, { key: k, customers: units, holders: s.customers, parties: s.parties, sharers });
  }
  const out = new Map<string, Shared[]>();
  for (const [partyId, list] of byParty) {
    const kept = list.flatMap((s) => (counted.has(s.key) ? [counted.get(s.key) as Shared] : []));
    if (kept.length > 0) out.set(partyId, kept);
  }
  return out;
}

/**
 * Per phone key, the holders who have it only from leads (agency CRM prospects), with the lead's agent: an
 * agent's own mobile typed into their leads is not the prospects' shared phone.
 */
async function leadOnlyHolders(em: EntityManager, keys: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  if (keys.length === 0) return out;
  const rows = await executeBound<{ key: string; party_id: string; agent: string | null }[]>(
    em,
    `select cp.search_key as key, cp.party_id::text as party_id, min(a.data->>'agentCode') as agent
       from contact_point cp join source_record sr on sr.id = cp.source_record_id
       left join activity a on a.kind = 'LEAD' and a.party_system = sr.system and a.party_source_id = sr.source_id and not a.deleted
      where cp.search_key = any(?::text[]) and cp.kind in ('MOBILE', 'LANDLINE')
      group by 1, 2 having bool_and(sr.system = 'agency-crm') and count(distinct a.data->>'agentCode') = 1`,
    [keys],
  );
  for (const r of rows) {
    if (!r.agent) continue;
    const m = out.get(r.key) ?? new Map<string, string>();
    out.set(r.key, m.set(r.party_id, r.agent));
  }
  return out;
}
