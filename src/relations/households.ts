import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { uniqueIds } from '../db/sql-sets.ts';

/**
 * Households: persisted, versioned groupings of customers connected by family relationships (relationships.ts).
 * Derived incrementally for the customers whose relationships changed, and correctable by a data steward:
 * a corrected member is pinned, and derivation leaves pinned members where the steward put them (and does not
 * walk through them). Every change of membership bumps the household's version and is written to its history.
 */

/**
 * A household is a component of the family graph of at most this many customers; the customers of a bigger one
 * have no household (its walk stops there). They still count as one party with those they are related to directly
 * (src/risk/network-sharers.ts reads relationships too).
 */
const maxComponent = 50;

export type HouseholdChange = { householdId: string; action: string; partyId: string | null };

/** One writer of households at a time: derivation in the risk settlement and steward corrections. */
async function lockHouseholds(em: EntityManager): Promise<void> {
  await executeBound(em, `select pg_advisory_xact_lock(hashtextextended('hub:households', 0))`);
}

type Member = { party_id: string; household_id: string; pinned: boolean };

async function membersOf(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, Member>> {
  if (partyIds.length === 0) return new Map();
  const rows = await executeBound<Member[]>(
    em,
    `select party_id::text as party_id, household_id::text as household_id, pinned from household_member where party_id = any(?::uuid[])`,
    [partyIds],
  );
  return new Map(rows.map((r) => [r.party_id, r]));
}

/** The household of each customer that has one. */
export async function householdOf(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, string>> {
  const members = await membersOf(em, partyIds);
  return new Map([...members].map(([id, m]) => [id, m.household_id]));
}

/**
 * The components of the family graph around the seeds, over customers no steward has pinned (seeds that are pinned
 * are left out): `homes`, each walked whole and of at most `maxComponent` customers, a candidate household; and
 * `tooBig`, the customers reached in components that grew past that, which are not walked further. Family edges
 * chain through in-laws and second marriages: on bench:ingest's store, a fifth of all customers formed one component
 * (3,974 customers), which the walk crossed 18 hops deep every risk round, and which made them one "household" that
 * the network rules counted as one party.
 */
async function familyComponents(
  em: EntityManager,
  seeds: readonly string[],
): Promise<{ homes: string[][]; tooBig: string[] }> {
  const pinnedRows = await executeBound<{ party_id: string }[]>(
    em,
    `select party_id::text as party_id from household_member where pinned and party_id = any(?::uuid[])`,
    [seeds],
  );
  const pinned = new Set(pinnedRows.map((r) => r.party_id));
  const parent = new Map<string, string>();
  const size = new Map<string, number>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(x, r);
    return r;
  };
  const union = (x: string, y: string) => {
    const [a, b] = [find(x), find(y)].sort() as [string, string];
    if (a === b) return;
    parent.set(b, a);
    size.set(a, (size.get(a) ?? 1) + (size.get(b) ?? 1));
    size.delete(b);
  };
  const add = (id: string) => {
    parent.set(id, id);
    size.set(id, 1);
  };
  let frontier = seeds.filter((id) => !pinned.has(id));
  for (const id of frontier) add(id);
  while (frontier.length > 0) {
    // A component past the bound is not a home: its edge is not walked further.
    frontier = frontier.filter((id) => (size.get(find(id)) ?? 1) <= maxComponent);
    if (frontier.length === 0) break;
    const rows = await executeBound<{ a: string; b: string; a_pinned: boolean; b_pinned: boolean }[]>(
      em,
      `select r.party_a::text as a, r.party_b::text as b,
              exists (select 1 from household_member m where m.party_id = r.party_a and m.pinned) as a_pinned,
              exists (select 1 from household_member m where m.party_id = r.party_b and m.pinned) as b_pinned
         from relationship r where r.family and (r.party_a = any(?::uuid[]) or r.party_b = any(?::uuid[]))`,
      [frontier, frontier],
    );
    const next: string[] = [];
    for (const r of rows) {
      if (r.a_pinned || r.b_pinned) continue;
      for (const id of [r.a, r.b])
        if (!parent.has(id)) {
          add(id);
          next.push(id);
        }
      union(r.a, r.b);
    }
    frontier = next;
  }
  const groups = new Map<string, string[]>();
  for (const id of parent.keys()) groups.set(find(id), [...(groups.get(find(id)) ?? []), id]);
  const homes: string[][] = [];
  const tooBig: string[] = [];
  for (const group of groups.values())
    if (group.length > maxComponent) tooBig.push(...group);
    else homes.push(group.sort());
  return { homes, tooBig: tooBig.sort() };
}

/**
 * Members of households bigger than a home can be (formed before households were bounded): a rescan re-derives them,
 * so that an upgraded store's giant "households" are dissolved.
 */
export async function oversizedHouseholdMembers(em: EntityManager): Promise<string[]> {
  const rows = await executeBound<{ party_id: string }[]>(
    em,
    `select m.party_id::text as party_id from household_member m
      where m.household_id in (select household_id from household_member group by household_id having count(*) > ?)
      order by m.party_id`,
    [maxComponent],
  );
  return rows.map((r) => r.party_id);
}

/** Writes one household's membership changes: versions, history, retirement of emptied households. */
async function record(em: EntityManager, changes: HouseholdChange[], actor: string, reason: string): Promise<void> {
  const touched = [...new Set(changes.map((c) => c.householdId))].sort();
  if (touched.length === 0) return;
  const versions = await executeBound<{ id: string; version: number }[]>(
    em,
    `update household set version = version + 1, updated_at = now() where id = any(?::uuid[]) returning id::text as id, version`,
    [touched],
  );
  const versionOf = new Map(versions.map((v) => [v.id, v.version]));
  const empty = await executeBound<{ id: string }[]>(
    em,
    `update household h set status = 'RETIRED' where h.id = any(?::uuid[]) and h.status = 'ACTIVE'
        and not exists (select 1 from household_member m where m.household_id = h.id) returning id::text as id`,
    [touched],
  );
  const all = [...changes, ...empty.map((e) => ({ householdId: e.id, action: 'RETIRED', partyId: null }))];
  await executeBound(
    em,
    `insert into household_history (household_id, version, action, party_id, actor, reason)
     select * from unnest(?::uuid[], ?::int[], ?::text[], ?::uuid[], ?::text[], ?::text[])`,
    [
      all.map((c) => c.householdId),
      all.map((c) => versionOf.get(c.householdId) ?? 1),
      all.map((c) => c.action),
      all.map((c) => c.partyId),
      all.map(() => actor),
      all.map(() => reason),
    ],
  );
}

async function createHousehold(em: EntityManager): Promise<string> {
  const id = randomUUID();
  await createHouseholds(em, [id]);
  return id;
}

/** New households, at version 0 (`record` makes their creation version 1). */
async function createHouseholds(em: EntityManager, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await executeBound(em, `insert into household (id, version) select unnest(?::uuid[]), 0`, [ids]);
}

/**
 * Re-derives the households around a set of customers (those whose relationships changed); returns the
 * customers whose household changed. A component keeps the household most of its members already share, so
 * household ids are stable as families grow; a component of one leaves its household.
 */
export async function refreshHouseholds(em: EntityManager, seeds: Iterable<string>): Promise<Set<string>> {
  const ids = uniqueIds(seeds);
  const moved = new Set<string>();
  if (ids.length === 0) return moved;
  await lockHouseholds(em);
  // Customers of a component too big to be a home have none: the households they are in are dissolved. Everyone
  // else in those households is walked too (as more seeds, until none is left unwalked): a household split since it
  // was formed — its other part a home of its own — keeps that part, which this refresh would not otherwise see.
  let walkFrom = ids;
  let components: string[][];
  let tooBig: string[];
  let members: Map<string, Member>;
  let dissolvedMembers: Member[];
  for (;;) {
    ({ homes: components, tooBig } = await familyComponents(em, walkFrom));
    members = await membersOf(em, [...components.flat(), ...tooBig]);
    const dissolved = [
      ...new Set(
        tooBig.flatMap((id) => {
          const m = members.get(id);
          return m && !m.pinned ? [m.household_id] : [];
        }),
      ),
    ].sort();
    dissolvedMembers =
      dissolved.length === 0
        ? []
        : await executeBound<Member[]>(
            em,
            `select party_id::text as party_id, household_id::text as household_id, pinned from household_member
              where household_id = any(?::uuid[]) and not pinned order by party_id`,
            [dissolved],
          );
    const walked = new Set([...components.flat(), ...tooBig]);
    const unwalked = dissolvedMembers.filter((m) => !walked.has(m.party_id)).map((m) => m.party_id);
    if (unwalked.length === 0) break;
    walkFrom = [...walkFrom, ...unwalked];
  }
  const claimed = new Set<string>();
  const changes: HouseholdChange[] = [];
  const joins: { partyId: string; householdId: string }[] = [];
  const leaves: string[] = [];
  // Created in one statement after the loop (one insert per new household was 1,436 statements in bench:ingest).
  const created: string[] = [];
  // Bigger components choose first: when a household splits, its larger part keeps the id.
  for (const component of components.sort(
    (a, b) => b.length - a.length || (a[0] as string).localeCompare(b[0] as string),
  )) {
    if (component.length === 1) {
      const m = members.get(component[0] as string);
      if (m && !m.pinned) {
        leaves.push(m.party_id);
        changes.push({ householdId: m.household_id, action: 'LEFT', partyId: m.party_id });
      }
      continue;
    }
    const votes = new Map<string, number>();
    for (const id of component) {
      const h = members.get(id)?.household_id;
      if (h && !claimed.has(h)) votes.set(h, (votes.get(h) ?? 0) + 1);
    }
    const best = [...votes].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))[0]?.[0];
    const target = best ?? randomUUID();
    if (!best) created.push(target);
    claimed.add(target);
    if (!best) changes.push({ householdId: target, action: 'CREATED', partyId: null });
    for (const id of component) {
      const m = members.get(id);
      if (m?.household_id === target) continue;
      if (m) changes.push({ householdId: m.household_id, action: 'LEFT', partyId: id });
      changes.push({ householdId: target, action: 'JOINED', partyId: id });
      joins.push({ partyId: id, householdId: target });
    }
  }
  // The dissolved households are left by everyone not in a home (those were settled above: a home may have kept
  // the household's id).
  const inHomes = new Set(components.flat());
  for (const m of dissolvedMembers) {
    if (inHomes.has(m.party_id)) continue;
    leaves.push(m.party_id);
    changes.push({ householdId: m.household_id, action: 'LEFT', partyId: m.party_id });
  }
  await createHouseholds(em, created);
  if (leaves.length > 0)
    await executeBound(em, `delete from household_member where party_id = any(?::uuid[]) and not pinned`, [leaves]);
  if (joins.length > 0)
    await executeBound(
      em,
      `insert into household_member (party_id, household_id) select * from unnest(?::uuid[], ?::uuid[])
       on conflict (party_id) do update set household_id = excluded.household_id, since = now()`,
      [joins.map((j) => j.partyId), joins.map((j) => j.householdId)],
    );
  await record(em, changes, 'hub', 'derived from relationships');
  for (const c of changes) if (c.partyId) moved.add(c.partyId);
  return moved;
}

export type HouseholdCorrection =
  | { ok: true; householdId: string; affected: string[] }
  | { ok: false; reason: 'NOT_FOUND' | 'INVALID_STATE'; message: string };

/** Everyone in the given households. */
async function everyoneIn(em: EntityManager, householdIds: readonly string[]): Promise<string[]> {
  const rows = await executeBound<{ party_id: string }[]>(
    em,
    `select party_id::text as party_id from household_member where household_id = any(?::uuid[])`,
    [householdIds],
  );
  return rows.map((r) => r.party_id);
}

/**
 * A steward moves a customer into another household (or, with `target` null, into a household of their own).
 * The customer is pinned there. Returns everyone whose household changed or whose housemates did.
 */
export async function moveToHousehold(
  em: EntityManager,
  partyId: string,
  target: string | null,
  actor: string,
  reason: string,
): Promise<HouseholdCorrection> {
  await lockHouseholds(em);
  const [party] = await executeBound<{ status: string }[]>(em, `select status from party where id = ?`, [partyId]);
  if (!party) return { ok: false, reason: 'NOT_FOUND', message: `customer ${partyId} not found` };
  if (party.status !== 'ACTIVE')
    return { ok: false, reason: 'INVALID_STATE', message: `customer ${partyId} is ${party.status.toLowerCase()}` };
  if (target !== null) {
    const [h] = await executeBound<{ status: string }[]>(em, `select status from household where id = ?`, [target]);
    if (!h) return { ok: false, reason: 'NOT_FOUND', message: `household ${target} not found` };
    if (h.status !== 'ACTIVE') return { ok: false, reason: 'INVALID_STATE', message: `household ${target} is retired` };
  }
  const current = (await membersOf(em, [partyId])).get(partyId);
  const destination = target ?? (await createHousehold(em));
  const changes: HouseholdChange[] = [];
  if (target === null) changes.push({ householdId: destination, action: 'CREATED', partyId: null });
  if (current?.household_id !== destination) {
    if (current) changes.push({ householdId: current.household_id, action: 'LEFT', partyId });
    changes.push({ householdId: destination, action: 'JOINED', partyId });
  } else {
    changes.push({ householdId: destination, action: 'PINNED', partyId });
  }
  await executeBound(
    em,
    `insert into household_member (party_id, household_id, pinned) values (?, ?, true)
     on conflict (party_id) do update set household_id = excluded.household_id, pinned = true, since = now()`,
    [partyId, destination],
  );
  await record(em, changes, actor, reason);
  const households = [destination, ...(current ? [current.household_id] : [])];
  return { ok: true, householdId: destination, affected: uniqueIds([partyId, ...(await everyoneIn(em, households))]) };
}

/** A steward splits the given members off into a new household (all pinned there). */
export async function splitHousehold(
  em: EntityManager,
  householdId: string,
  partyIds: readonly string[],
  actor: string,
  reason: string,
): Promise<HouseholdCorrection> {
  await lockHouseholds(em);
  const [h] = await executeBound<{ status: string }[]>(em, `select status from household where id = ?`, [householdId]);
  if (!h) return { ok: false, reason: 'NOT_FOUND', message: `household ${householdId} not found` };
  const before = await everyoneIn(em, [householdId]);
  const leaving = uniqueIds(partyIds);
  const strangers = leaving.filter((id) => !before.includes(id));
  if (leaving.length === 0 || strangers.length > 0 || leaving.length === before.length)
    return {
      ok: false,
      reason: 'INVALID_STATE',
      message: 'a split names some, not all, of the household’s members, and only its members',
    };
  const destination = await createHousehold(em);
  await executeBound(
    em,
    `update household_member set household_id = ?, pinned = true, since = now() where party_id = any(?::uuid[])`,
    [destination, leaving],
  );
  await record(
    em,
    [
      { householdId: destination, action: 'CREATED', partyId: null },
      ...leaving.flatMap((id) => [
        { householdId, action: 'LEFT', partyId: id },
        { householdId: destination, action: 'JOINED', partyId: id },
      ]),
    ],
    actor,
    reason,
  );
  return { ok: true, householdId: destination, affected: before };
}
