import { membersOfParties } from './match/probabilistic.matcher.ts';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../domain/canonical.ts';
import type { BatchMatching, MatchCandidate } from './match/matcher.ts';
import { OversizedBlocks } from './match/oversized-blocks.ts';
import { countBlocks } from './match/block-sizes.ts';
import type { SyncDeps } from './sync-deps.ts';
import { byColumn, chunked, marks } from '../db/sql-sets.ts';
import {
  type PartyChange,
  type RecordState,
  type Blocks,
  recordKey,
  sameAttributes,
  isStale,
} from './party-batch-types.ts';

/**
 * What set-based identity resolution (apply-parties.ts) reads before deciding: the batch's source records as
 * stored (read and locked in one statement) and the blocks of all their keys, counted up to each rule's cap,
 * with their candidates.
 */
export async function loadStates(
  em: EntityManager,
  changes: readonly PartyChange[],
): Promise<Map<string, RecordState>> {
  const states = new Map<string, RecordState>();
  const pairs = [...new Map(changes.map((c) => [recordKey(c.system, c.sourceId), c])).values()];
  // One global ascending id order for every record locked (as the resolution pass and survivorship lock): each
  // statement locks its rows in id order, but slices taken in the batch's order would hold a high id while
  // waiting for a low one — a deadlock with any transaction locking in ascending order. A batch of more than one
  // slice first finds its records' ids (no lock), then locks them slice by slice in ascending id order.
  const slices = chunked(pairs);
  const ordered: ({ by: 'key'; pairs: PartyChange[] } | { by: 'id'; ids: string[] })[] =
    slices.length <= 1 ? slices.map((p) => ({ by: 'key' as const, pairs: p })) : [];
  if (slices.length > 1) {
    const ids: string[] = [];
    for (const chunk of slices) {
      const found = await executeBound<{ id: string }[]>(
        em,
        `select sr.id::text as id from unnest(?::text[], ?::text[]) as wanted(system, source_id)
           join source_record sr on sr.system = wanted.system and sr.source_id = wanted.source_id`,
        byColumn(
          chunk.map((c) => [c.system, c.sourceId]),
          2,
        ),
        { prepared: true },
      );
      for (const r of found) ids.push(r.id);
    }
    // uuid order as PostgreSQL sorts it: lower-case hex text compares the same way.
    ids.sort();
    for (const part of chunked(ids)) ordered.push({ by: 'id', ids: part });
  }
  for (const slice of ordered) {
    const rows = await executeBound<
      {
        id: string;
        system: string;
        source_id: string;
        party_id: string | null;
        source_version: string;
        deleted: boolean;
        link_type: string;
        attributes: PartyAttributes | null;
        others: number;
      }[]
    >(
      em,
      `select sr.id, sr.system, sr.source_id, sr.party_id, sr.source_version::text as source_version, sr.deleted, sr.link_type, sr.attributes,
              (select count(*)::int from source_record o where o.party_id = sr.party_id and o.id <> sr.id and not o.deleted) as others
         from ${
           slice.by === 'key'
             ? `unnest(?::text[], ?::text[]) as wanted(system, source_id)
         join source_record sr on sr.system = wanted.system and sr.source_id = wanted.source_id`
             : 'source_record sr where sr.id = any(?::uuid[])'
         } order by sr.id for no key update of sr`,
      slice.by === 'key'
        ? byColumn(
            slice.pairs.map((c) => [c.system, c.sourceId]),
            2,
          )
        : [slice.ids],
      { prepared: true },
    );
    for (const r of rows) {
      states.set(recordKey(r.system, r.source_id), {
        id: r.id,
        partyId: r.party_id,
        version: BigInt(r.source_version),
        deleted: r.deleted,
        linkType: r.link_type,
        attributes: r.attributes,
        others: r.others,
        resolvedInSegment: false,
      });
    }
  }
  return states;
}

/**
 * Blocks of every key the remaining changes may match on: sizes counted up to the matcher's limit plus what
 * the batch could take out of a block, and the candidate records of every block that could be usable at some
 * point of the batch. Only a stored record whose attributes change can take its old keys out of their blocks
 * (an unchanged repeat keeps them; a delete is applied alone and reloads this view), so that bound is counted
 * per key — a batch of repeated payers must not make every large block look usable and fetch all of it.
 */
export async function loadBlocks(
  em: EntityManager,
  changes: readonly PartyChange[],
  states: Map<string, RecordState>,
  deps: SyncDeps,
  matching: BatchMatching,
): Promise<Blocks> {
  const keys = new Set<string>();
  const storedIds = new Set<string>();
  const leaving = new Map<string, Set<string>>();
  for (const c of changes) {
    if (c.op !== 'upsert') continue;
    const state = states.get(recordKey(c.system, c.sourceId));
    // Stale changes and unchanged repeats of stored records are never matched (see applyParties): their blocks
    // are neither counted nor fetched. Most of a stream is repeats — the payer of every premium.
    if (isStale(state, c)) continue;
    const unchanged =
      state !== undefined &&
      !state.deleted &&
      state.attributes !== null &&
      sameAttributes(state.attributes, c.attributes);
    if (unchanged && state.partyId !== null) continue;
    for (const k of deps.matcher.keys(c.attributes)) keys.add(k);
    if (!state) continue;
    storedIds.add(state.id);
    if (state.deleted || state.attributes === null || unchanged) continue;
    for (const k of deps.matcher.keys(state.attributes)) leaving.set(k, new Set([...(leaving.get(k) ?? []), state.id]));
  }
  const blocks: Blocks = {
    stored: new Map(),
    candidates: new Map(),
    rejections: new Map(),
    delta: new Map(),
    added: new Map(),
    replaced: new Set(),
    members: new Map(),
  };
  const wanted: string[] = [];
  /** Every candidate read, by record id: the members of their golden records are not read again. */
  const byRecord = new Map<string, MatchCandidate>();
  const oversized = deps.oversized;
  // How far a block can matter: its rule's limit plus what the batch may take out of it.
  const limitOf = (k: string) => matching.countLimit(k) + (leaving.get(k)?.size ?? 0);
  const toCount: string[] = [];
  for (const k of keys) {
    const limit = limitOf(k);
    // A block remembered as far too big is not counted again: it stays too big for this batch.
    // (Unless records of the batch leave it: then it may shrink, and is counted.)
    if (oversized?.has(k) && !leaving.has(k)) blocks.stored.set(k, limit + OversizedBlocks.margin);
    else toCount.push(k);
  }
  // Each block counted only as far as it can matter: its rule's limit plus what the batch may take out of it, plus
  // a margin that tells a block far too big (remembered, see OversizedBlocks) from one at the edge.
  const sizes = await countBlocks(em, toCount, (k) => limitOf(k) + (oversized ? OversizedBlocks.margin : 0));
  for (const [key, n] of sizes) {
    blocks.stored.set(key, n);
    if (oversized && n >= limitOf(key) + OversizedBlocks.margin) oversized.note(key);
    else oversized?.forget(key);
    if (n > 0 && matching.usable(key, Math.max(1, n - (leaving.get(key)?.size ?? 0)))) wanted.push(key);
  }
  for (const chunk of chunked(wanted, 5000)) {
    const rows = await executeBound<
      {
        key: string;
        id: string;
        party_id: string;
        system: string;
        source_id: string;
        profile: unknown;
        attributes: PartyAttributes | null;
        first: boolean;
      }[]
    >(
      em,
      // Per key (lateral, kept apart by OFFSET 0): index lookups whatever the statistics say — on freshly
      // loaded tables the planner otherwise hash-joins whole tables for a few hundred keys. A record is in the
      // blocks of several of the batch's keys (the same person's id, phone, name and birth date …): its profile
      // comes once, with the first of its rows.
      `select key, id, party_id, system, source_id, first, case when first then profile end as profile, case when first then attributes end as attributes
         from (select t.k as key, c.*, row_number() over (partition by c.id) = 1 as first from unnest(?::text[]) as t(k) cross join lateral (
                 select sr.id, sr.party_id, sr.system, sr.source_id, sr.match_profile as profile, case when sr.match_profile is null then sr.attributes end as attributes
                   from match_key mk join source_record sr on sr.id = mk.source_record_id and not sr.deleted join party p on p.id = sr.party_id and p.status = 'ACTIVE'
                  where mk.key_hash = hashtextextended(t.k, 0) offset 0) as c) as found`,
      [chunk],
      { prepared: true },
    );
    // One candidate per record, from the row that carries its profile (rows come in no particular order).
    for (const r of rows)
      if (r.first)
        byRecord.set(r.id, {
          recordId: r.id,
          partyId: r.party_id,
          system: r.system,
          sourceId: r.source_id,
          profile: r.profile,
          attributes: r.attributes,
        });
    for (const r of rows) {
      const list = blocks.candidates.get(r.key) ?? [];
      list.push(byRecord.get(r.id) as MatchCandidate);
      blocks.candidates.set(r.key, list);
    }
  }
  // The candidates' golden records as wholes: a record joins one only when it matches all of it.
  const parties = [...new Set([...blocks.candidates.values()].flatMap((list) => list.map((c) => c.partyId)))];
  for (const chunk of chunked(parties, 1000))
    for (const [partyId, list] of await membersOfParties(em, chunk, byRecord))
      blocks.members.set(partyId, new Map(list.map((c) => [c.recordId, c])));
  for (const chunk of chunked([...storedIds], 1000)) {
    const rows = await executeBound<{ source_record_id: string; party_id: string }[]>(
      em,
      `select source_record_id, party_id from match_rejection where source_record_id in (${marks(chunk.length)})`,
      chunk,
    );
    for (const r of rows)
      blocks.rejections.set(
        r.source_record_id,
        new Set([...(blocks.rejections.get(r.source_record_id) ?? []), r.party_id]),
      );
  }
  return blocks;
}
