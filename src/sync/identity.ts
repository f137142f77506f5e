import { randomUUID } from 'node:crypto';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../domain/canonical.ts';
import type { Matcher, PartyEvidence } from './match/matcher.ts';
import { membersOfParties } from './match/probabilistic.matcher.ts';
import { recomputeParty, writeHistory, type HistoryCause } from './survivorship.ts';
import { byColumn, chunked, marks } from '../db/sql-sets.ts';

/**
 * Incremental clustering. After a source record changes, its matcher evidence decides where it belongs:
 *   - it matches parties → it links to the oldest of them, and any other matched party is MERGED into that
 *     survivor (a record that bridges two golden records merges them; the survivor keeps its id, the merged
 *     id stays resolvable as an alias);
 *   - it was linked to a party that the evidence no longer supports while that party still has other records →
 *     it is split out (UNMERGE) and linked where the evidence says, or to a new party;
 *   - it only possibly matches → a new party, and a review task per possible party for a data steward.
 * Blocking keys are locked (transaction-scoped advisory locks, in sorted order) while this runs, so two hub
 * instances receiving records of one person at the same moment serialise instead of creating two parties.
 */
export type LinkOutcome = {
  partyId: string;
  linkType: string;
  merged: string[];
  unmergedFrom: string | null;
  reviewTasks: number;
};

export async function lockMatchKeys(em: EntityManager, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  // One statement; the ordered sub-select (kept apart by OFFSET 0) makes every instance take locks in the same
  // order, so two transactions never hold each other's keys crosswise. One row back, not one per lock (a catch-up
  // of 100k events took ~200,000 locks, each an empty row for the driver to parse). The keys go as one array
  // parameter of a prepared statement: a VALUES list per key was parsed and planned anew in every transaction.
  await executeBound(
    em,
    `select count(pg_advisory_xact_lock(h))::int as locked from (select hashtextextended(k, 0) as h from unnest(?::text[]) as t(k) order by k offset 0) as ordered`,
    [keys],
    { prepared: true },
  );
}

/** Replaces a record's blocking keys (`fresh`: the record was just inserted and has none yet). */
export async function storeMatchKeys(
  em: EntityManager,
  recordId: string,
  keys: readonly string[],
  fresh = false,
): Promise<void> {
  if (!fresh) await executeBound(em, `delete from match_key where source_record_id = ?`, [recordId]);
  await insertMatchKeys(
    em,
    keys.map((k) => [k, recordId] as const),
  );
}

/** Inserts blocking keys (key, source record id) of any number of records, hashed as the candidate search reads them. */
export async function insertMatchKeys(em: EntityManager, rows: readonly (readonly [string, string])[]): Promise<void> {
  // Two array parameters of one prepared statement (a VALUES list of thousands of rows was parsed and planned
  // for every chunk: a tenth of the statement's time on the database, and two parameters per row for the driver).
  for (const chunk of chunked(rows, 5000)) {
    await executeBound(
      em,
      `insert into match_key (key_hash, source_record_id)
         select hashtextextended(k, 0), r from unnest(?::text[], ?::uuid[]) as t(k, r) on conflict do nothing`,
      byColumn(chunk, 2),
      { prepared: true },
    );
  }
}

async function createdAt(em: EntityManager, ids: readonly string[]): Promise<string[]> {
  const rows = await executeBound<{ id: string }[]>(
    em,
    `select id from party where id in (${marks(ids.length)}) order by created_at, id`,
    [...ids],
  );
  return rows.map((r) => r.id);
}

export async function resolveLink(
  em: EntityManager,
  matcher: Matcher,
  record: { id: string; system: string; sourceId: string; currentPartyId: string | null; attributes: PartyAttributes },
): Promise<LinkOutcome> {
  const decision = await matcher.match(em, {
    recordId: record.id,
    system: record.system,
    sourceId: record.sourceId,
    attributes: record.attributes,
  });
  const matched = new Map<string, PartyEvidence>(decision.matches.map((e) => [e.partyId, e]));
  let unmergedFrom: string | null = null;

  if (record.currentPartyId !== null && !matched.has(record.currentPartyId)) {
    const [others] = await executeBound<{ n: number }[]>(
      em,
      `select count(*)::int as n from source_record where party_id = ? and id <> ? and not deleted`,
      [record.currentPartyId, record.id],
    );
    if ((others?.n ?? 0) === 0) {
      // Alone in its party: nothing to split from; the party stays this record's.
      matched.set(record.currentPartyId, {
        partyId: record.currentPartyId,
        probability: 1,
        linkType: 'PROBABILISTIC',
        explanation: {
          decision: 'KEEP',
          probability: null,
          candidatePartyId: record.currentPartyId,
          comparisons: [],
          note: 'only record of its golden record',
        },
      });
    } else {
      unmergedFrom = record.currentPartyId;
    }
  }

  let partyId: string;
  let linkType: string;
  let explanation: PartyEvidence['explanation'];
  const merged: string[] = [];
  if (matched.size > 1) {
    // Never merge golden records that hold different valid resident ids: keep those compatible with the
    // strongest evidence; the others stay apart (they can still be merged by a steward).
    // An exact resident id is the strongest evidence, then the probability.
    const strongest = [...matched.values()].sort(
      (a, b) => Number(b.linkType === 'EXACT_ID') - Number(a.linkType === 'EXACT_ID') || b.probability - a.probability,
    )[0] as PartyEvidence;
    const ids = await executeBound<{ party_id: string; value: string }[]>(
      em,
      `select distinct party_id, value from party_identifier where type = 'RESIDENT_ID' and valid and party_id in (${marks(matched.size)})`,
      [...matched.keys()],
    );
    const idsOf = (p: string) => new Set(ids.filter((r) => r.party_id === p).map((r) => r.value));
    const keep = idsOf(strongest.partyId);
    for (const p of [...matched.keys()]) {
      const other = idsOf(p);
      if (p !== strongest.partyId && keep.size > 0 && other.size > 0 && ![...other].every((v) => keep.has(v)))
        matched.delete(p);
      else for (const v of other) keep.add(v);
    }
    // A bridge merges two golden records only when they match each other as wholes, not merely through the
    // bridging record; a doubtful bridge goes to review with its explanation (the record links to the strongest).
    if (matcher.wholeMatch && matched.size > 1) {
      const members = await membersOfParties(em, [...matched.keys()]);
      const survivorMembers = (members.get(strongest.partyId) ?? []).filter((m) => m.recordId !== record.id);
      for (const [p, evidence] of [...matched]) {
        if (p === strongest.partyId || p === record.currentPartyId) continue;
        const why = matcher.wholeMatch(
          survivorMembers,
          (members.get(p) ?? []).filter((m) => m.recordId !== record.id),
        );
        if (why === null) continue;
        matched.delete(p);
        decision.possible.push({
          ...evidence,
          explanation: { ...evidence.explanation, decision: 'POSSIBLE_MATCH', note: `doubtful bridge: ${why}` },
        });
      }
    }
  }
  if (matched.size > 0) {
    const ordered = await createdAt(em, [...matched.keys()]);
    const survivor = ordered[0] as string;
    for (const loser of ordered.slice(1)) {
      await mergeParties(em, survivor, loser, 'MATCH', { bridgingRecord: `${record.system}/${record.sourceId}` });
      merged.push(loser);
    }
    const evidence =
      matched.get(record.currentPartyId ?? '') ??
      [...matched.values()].sort((a, b) => b.probability - a.probability)[0]!;
    partyId = survivor;
    linkType = evidence.explanation.decision === 'KEEP' ? 'NEW' : evidence.linkType;
    explanation = evidence.explanation;
  } else {
    partyId = randomUUID();
    linkType = 'NEW';
    await executeBound(em, `insert into party (id, kind, created_at) values (?, ?, clock_timestamp())`, [
      partyId,
      record.attributes.kind,
    ]);
    explanation = {
      decision: 'NEW',
      probability: null,
      candidatePartyId: null,
      comparisons: [],
      note: decision.possible.length > 0 ? 'possible matches sent to review' : 'no golden record matches',
    };
  }

  if (record.currentPartyId !== partyId || unmergedFrom !== null || merged.length > 0) {
    await executeBound(
      em,
      `update source_record set party_id = ?, link_type = ?, link_score = ?, linked_at = now(), match_explanation = ?::jsonb where id = ?`,
      [partyId, linkType, explanation.probability, JSON.stringify(explanation), record.id],
    );
    await executeBound(em, `update party_identifier set party_id = ? where source_record_id = ?`, [partyId, record.id]);
    await executeBound(em, `update contact_point set party_id = ? where source_record_id = ?`, [partyId, record.id]);
  } else {
    await executeBound(
      em,
      `update source_record set match_explanation = ?::jsonb where id = ? and link_type <> 'MANUAL'`,
      [JSON.stringify(explanation), record.id],
    );
  }
  if (unmergedFrom !== null) {
    await recomputeParty(em, unmergedFrom, 'UNMERGE', {
      record: `${record.system}/${record.sourceId}`,
      movedTo: partyId,
    });
    // The record may have been what held the rest together (it bridged them): re-check the party.
    await reclusterParty(em, matcher, unmergedFrom, `${record.system}/${record.sourceId} no longer matches`);
  }

  let reviewTasks = 0;
  if (matched.size === 0 || record.currentPartyId === null) {
    for (const possible of decision.possible) {
      if (possible.partyId === partyId) continue;
      await executeBound(
        em,
        `insert into review_task (id, source_record_id, candidate_party_id, probability, explanation) values (gen_random_uuid(), ?, ?, ?, ?::jsonb)
         on conflict (source_record_id, candidate_party_id) where status = 'OPEN' do update set probability = excluded.probability, explanation = excluded.explanation`,
        [record.id, possible.partyId, possible.probability, JSON.stringify(possible.explanation)],
      );
      reviewTasks += 1;
    }
  }
  return { partyId, linkType, merged, unmergedFrom, reviewTasks };
}

/**
 * Merges `loserId` into `survivorId` in one step: repoints source records and their contributions, marks the
 * loser MERGED with an alias to the survivor (and flattens older aliases), retires its open review tasks,
 * carries its rejections over, and recomputes the survivor. Both sides get a history row.
 */
export async function mergeParties(
  em: EntityManager,
  survivorId: string,
  loserId: string,
  cause: HistoryCause,
  detail: Record<string, unknown>,
): Promise<void> {
  if (survivorId === loserId) return;
  await executeBound(em, `update source_record set party_id = ? where party_id = ?`, [survivorId, loserId]);
  await executeBound(em, `update party_identifier set party_id = ? where party_id = ?`, [survivorId, loserId]);
  await executeBound(em, `update contact_point set party_id = ? where party_id = ?`, [survivorId, loserId]);
  await executeBound(em, `update party set merged_into_id = ? where merged_into_id = ?`, [survivorId, loserId]);
  const [loser] = await executeBound<{ version: number }[]>(
    em,
    `update party set status = 'MERGED', merged_into_id = ?, version = version + 1, updated_at = now() where id = ? returning version`,
    [survivorId, loserId],
  );
  await writeHistory(
    em,
    loserId,
    loser?.version ?? 0,
    'MERGED_INTO',
    { ...detail, survivor: survivorId },
    { status: 'MERGED', mergedIntoId: survivorId },
  );
  await executeBound(
    em,
    `update review_task set status = 'OBSOLETE' where status = 'OPEN' and candidate_party_id = ?`,
    [loserId],
  );
  await executeBound(
    em,
    `insert into match_rejection (source_record_id, party_id, rejected_by, rejected_at)
     select source_record_id, ?, rejected_by, rejected_at from match_rejection where party_id = ? on conflict do nothing`,
    [survivorId, loserId],
  );
  await recomputeParty(em, survivorId, cause === 'STEWARD_ACTION' ? 'STEWARD_ACTION' : 'MERGE', {
    ...detail,
    merged: loserId,
  });
}

/** Moves one source record out of its party into a new one (a steward's split, or broken evidence). */
export async function splitRecord(
  em: EntityManager,
  recordId: string,
  cause: HistoryCause,
  detail: Record<string, unknown>,
): Promise<{ from: string; to: string } | null> {
  const [row] = await executeBound<{ party_id: string | null; kind: string }[]>(
    em,
    `select sr.party_id, p.kind from source_record sr join party p on p.id = sr.party_id where sr.id = ? for no key update of sr`,
    [recordId],
  );
  if (!row?.party_id) return null;
  const to = randomUUID();
  await executeBound(em, `insert into party (id, kind, created_at) values (?, ?, clock_timestamp())`, [to, row.kind]);
  await executeBound(
    em,
    `update source_record set party_id = ?, link_type = 'MANUAL', linked_at = now() where id = ?`,
    [to, recordId],
  );
  await executeBound(em, `update party_identifier set party_id = ? where source_record_id = ?`, [to, recordId]);
  await executeBound(em, `update contact_point set party_id = ? where source_record_id = ?`, [to, recordId]);
  // Remember the decision: the matcher will not put this record back into the party it was split from.
  await executeBound(
    em,
    `insert into match_rejection (source_record_id, party_id, rejected_by) values (?, ?, ?) on conflict do nothing`,
    [recordId, row.party_id, String(detail.by ?? 'system')],
  );
  await recomputeParty(em, row.party_id, cause, { ...detail, splitRecord: recordId, to });
  await recomputeParty(em, to, cause, { ...detail, splitFrom: row.party_id });
  return { from: row.party_id, to };
}

/**
 * Splits a golden record whose records no longer form one connected cluster of matches (the record that
 * bridged them changed or went away). The component holding the oldest record keeps the golden id; every
 * other component moves to a new golden record. Parties a steward linked by hand (MANUAL) are left alone.
 */
export async function reclusterParty(
  em: EntityManager,
  matcher: Matcher,
  partyId: string,
  why: string,
): Promise<string[]> {
  // Locked in id order (the one lock order of everything that locks source records; locking in linked_at order
  // crossed the ingest and the resolution pass), then taken in link order: the oldest record's component stays.
  const locked = await executeBound<
    {
      id: string;
      link_type: string;
      attributes: PartyAttributes;
      system: string;
      source_id: string;
      linked_at: string | null;
    }[]
  >(
    em,
    `select id, link_type, attributes, system, source_id, to_char(linked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as linked_at
       from source_record where party_id = ? and not deleted order by id for no key update`,
    [partyId],
  );
  const rows = [...locked].sort((a, b) =>
    a.linked_at === b.linked_at
      ? a.id < b.id
        ? -1
        : 1
      : a.linked_at === null
        ? -1
        : b.linked_at === null
          ? 1
          : a.linked_at < b.linked_at
            ? -1
            : 1,
  );
  if (rows.length < 2 || rows.some((r) => r.link_type === 'MANUAL')) return [];
  const parent = rows.map((_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x] as number)));
  for (let i = 0; i < rows.length; i += 1) {
    for (let j = i + 1; j < rows.length; j += 1) {
      if (
        find(i) !== find(j) &&
        matcher.matchesPair(
          (rows[i] as (typeof rows)[number]).attributes,
          (rows[j] as (typeof rows)[number]).attributes,
        )
      )
        parent[find(j)] = find(i);
    }
  }
  const components = new Map<number, number[]>();
  rows.forEach((_, i) => components.set(find(i), [...(components.get(find(i)) ?? []), i]));
  if (components.size < 2) return [];
  const created: string[] = [];
  const keep = find(0);
  for (const [root, members] of components) {
    if (root === keep) continue;
    const to = randomUUID();
    const kind = (rows[members[0] as number] as (typeof rows)[number]).attributes.kind;
    await executeBound(em, `insert into party (id, kind, created_at) values (?, ?, clock_timestamp())`, [to, kind]);
    const ids = members.map((m) => (rows[m] as (typeof rows)[number]).id);
    const list = marks(ids.length);
    await executeBound(
      em,
      `update source_record set party_id = ?, link_type = 'PROBABILISTIC', linked_at = now() where id in (${list})`,
      [to, ...ids],
    );
    await executeBound(em, `update party_identifier set party_id = ? where source_record_id in (${list})`, [
      to,
      ...ids,
    ]);
    await executeBound(em, `update contact_point set party_id = ? where source_record_id in (${list})`, [to, ...ids]);
    await recomputeParty(em, to, 'UNMERGE', { splitFrom: partyId, why });
    created.push(to);
  }
  await recomputeParty(em, partyId, 'UNMERGE', { splitInto: created, why });
  return created;
}
