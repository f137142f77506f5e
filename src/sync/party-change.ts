import { randomUUID } from 'node:crypto';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes, PartyDelete, PartyUpsert } from '../domain/canonical.ts';
import { equalVersionReplaces } from './record-order.ts';
import { recomputeParty, type HistoryCause } from './survivorship.ts';
import { reclusterParty, resolveLink, storeMatchKeys } from './identity.ts';
import type { ApplyStats } from './apply-stats.ts';
import type { ApplyOutcome, SyncDeps } from './sync-deps.ts';
import type { ChangeSet } from './change-set.ts';
import { byColumn, chunked, unnestOf } from '../db/sql-sets.ts';
import { contactKey } from '../domain/event-fold.ts';
import { foldJson } from './party-batch-types.ts';

/**
 * One party change at a time, against the store: the general path of identity resolution, which handles every
 * case (merges of golden records a record bridges, unmerges when evidence breaks, deletes, revived records).
 * The set-based path (apply-parties.ts) decides the common cases of a batch in memory and hands each of the
 * others to this path, in order.
 */
export function applyPartyChangeAlone(
  em: EntityManager,
  change: PartyUpsert | PartyDelete,
  deps: SyncDeps,
  stats: ApplyStats,
  changed: ChangeSet,
): Promise<ApplyOutcome> {
  return change.op === 'upsert'
    ? upsertParty(em, change, deps, stats, changed)
    : deleteParty(em, change, deps, stats, changed);
}

type SourceRecordRow = {
  id: string;
  party_id: string | null;
  source_version: string;
  deleted: boolean;
  link_type: string;
  attributes: PartyAttributes | null;
  unchanged: boolean;
  alone: boolean;
};

/**
 * Locks a source record; `unchanged` says whether it already holds exactly these attributes (jsonb equality),
 * `alone` whether it is the only live record of its golden record.
 */
async function lockSourceRecord(
  em: EntityManager,
  system: string,
  sourceId: string,
  attributes: unknown = null,
): Promise<SourceRecordRow | undefined> {
  const [row] = await executeBound<SourceRecordRow[]>(
    em,
    // A record of an erased golden record that its source sends again belongs to no one: it is matched afresh.
    `select id, case when exists (select 1 from party p where p.id = sr.party_id and p.status = 'ERASED') then null else party_id end as party_id,
            source_version::text as source_version, deleted, link_type, attributes, coalesce(attributes = ?::jsonb, false) as unchanged,
            not exists (select 1 from source_record o where o.party_id = sr.party_id and o.id <> sr.id and not o.deleted) as alone
       from source_record sr where system = ? and source_id = ? for no key update`,
    [JSON.stringify(attributes), system, sourceId],
  );
  return row;
}

async function upsertParty(
  em: EntityManager,
  change: PartyUpsert,
  deps: SyncDeps,
  stats: ApplyStats,
  changed: ChangeSet,
): Promise<ApplyOutcome> {
  const existing = await lockSourceRecord(em, change.system, change.sourceId, change.attributes);
  // A folded change event that arrived late carries its record's own version: it was folded in its place.
  if (existing && change.fold === undefined) {
    const stored = BigInt(existing.source_version);
    const version = BigInt(change.sourceVersion);
    // Of two payloads with one version the content decides, not arrival (record-order.ts; as isStale).
    if (
      stored > version ||
      (stored === version && !equalVersionReplaces(existing.deleted ? null : existing.attributes, change.attributes))
    )
      return 'STALE';
  }
  if (existing && existing.unchanged && !existing.deleted && existing.party_id !== null) {
    // Sources repeat the customer with every event (the payer of each premium, the claimant of each claim):
    // same attributes means same matching evidence, so identity resolution is skipped. Only recency moved,
    // which survivorship weighs (MOST_RECENT) among several records — alone in its golden record, the record
    // wins every attribute whatever its time, so there is nothing to recompute.
    await executeBound(
      em,
      `update source_record set raw = ?::jsonb, attribute_versions = ?::jsonb, source_time = ?, source_version = ?, updated_at = now() where id = ?`,
      [JSON.stringify(change.raw), foldJson(change.fold), change.sourceTime, change.sourceVersion, existing.id],
    );
    // A folded event may also change which event gave a value (lineage names it).
    if (
      (!existing.alone || change.fold !== undefined) &&
      (await recomputeParty(em, existing.party_id, 'SOURCE_CHANGE', {
        record: `${change.system}/${change.sourceId}`,
        sourceVersion: change.sourceVersion,
      })) === 'CHANGED'
    )
      stats.partiesChanged += 1;
    return 'APPLIED';
  }

  const recordId = existing?.id ?? randomUUID();
  const profile = deps.matcher.profile ? JSON.stringify(deps.matcher.profile(change.attributes)) : null;
  const values = [
    JSON.stringify(change.raw),
    JSON.stringify(change.attributes),
    foldJson(change.fold),
    profile,
    change.sourceTime,
    change.sourceVersion,
  ];
  if (existing) {
    await executeBound(
      em,
      `update source_record set raw = ?::jsonb, attributes = ?::jsonb, attribute_versions = ?::jsonb, match_profile = ?::jsonb, source_time = ?, source_version = ?, deleted = false, updated_at = now() where id = ?`,
      [...values, recordId],
    );
  } else {
    await executeBound(
      em,
      `insert into source_record (id, system, source_id, raw, attributes, attribute_versions, match_profile, source_time, source_version) values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?)`,
      [recordId, change.system, change.sourceId, ...values],
    );
  }

  // Identity resolution (src/sync/identity.ts). The record's blocking keys are already locked for the whole
  // batch (lockPartyKeys), so concurrent instances serialise on the same person; a steward's manual link is
  // kept as decided.
  const keys = deps.matcher.keys(change.attributes);
  const fresh = existing === undefined;
  const previousParty = existing?.party_id ?? null;
  let partyId: string;
  let cause: HistoryCause = 'SOURCE_CHANGE';
  if (existing?.link_type === 'MANUAL' && previousParty !== null) {
    partyId = previousParty;
  } else {
    const outcome = await resolveLink(em, deps.matcher, {
      id: recordId,
      system: change.system,
      sourceId: change.sourceId,
      currentPartyId: previousParty,
      attributes: change.attributes,
    });
    partyId = outcome.partyId;
    // Customers merged into this one: their alerts close (the survivor is evaluated with all the evidence).
    for (const merged of outcome.merged) changed.mergedAway.add(merged);
    if (outcome.linkType === 'NEW' && previousParty === null) cause = 'CREATED';
    else if (partyId !== previousParty) cause = 'MATCH';
  }
  await storeMatchKeys(em, recordId, keys, fresh);
  await replaceContributions(em, recordId, partyId, change, fresh);
  if (
    (await recomputeParty(em, partyId, cause, {
      record: `${change.system}/${change.sourceId}`,
      sourceVersion: change.sourceVersion,
    })) === 'CHANGED'
  )
    stats.partiesChanged += 1;
  // Risk: every change of a golden customer re-screens it against the blacklists and re-evaluates its alerts
  // (its claims may now be someone else's); settled once per batch.
  changed.customers.add(partyId);
  if (previousParty !== null && previousParty !== partyId) {
    changed.customers.add(previousParty);
  }
  return 'APPLIED';
}

/** The golden record's identifiers and contact points are the union of its sources: one row per source value. */
export async function replaceContributions(
  em: EntityManager,
  recordId: string,
  partyId: string,
  change: PartyUpsert | null,
  fresh = false,
): Promise<void> {
  if (!fresh) {
    await executeBound(em, `delete from party_identifier where source_record_id = ?`, [recordId]);
    await executeBound(em, `delete from contact_point where source_record_id = ?`, [recordId]);
  }
  if (change !== null) await insertContributions(em, [{ recordId, partyId, change }]);
}

export type Contribution = { recordId: string; partyId: string; change: PartyUpsert };

/** `party_identifier` rows of source records, in `identifierColumns` order (shared with the bulk load's COPY). */
export const identifierColumns = ['id', 'party_id', 'source_record_id', 'type', 'value', 'raw', 'valid', 'issues'];
const identifierTypes = ['uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'boolean', 'jsonb'];
export const identifierRows = (records: readonly Contribution[]): unknown[][] =>
  records.flatMap(({ recordId, partyId, change }) =>
    change.attributes.identifiers.map((i) => [
      randomUUID(),
      partyId,
      recordId,
      i.type,
      i.value,
      i.raw,
      i.valid,
      JSON.stringify(i.issues),
    ]),
  );

/** `contact_point` rows of source records, in `contactPointColumns` order. */
export const contactPointColumns = [
  'id',
  'party_id',
  'source_record_id',
  'kind',
  'value',
  'raw',
  'search_key',
  'valid',
  'issues',
  'valid_from',
];
const contactPointTypes = ['uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'text', 'boolean', 'jsonb', 'timestamptz'];
export const contactPointRows = (records: readonly Contribution[]): unknown[][] =>
  records.flatMap(({ recordId, partyId, change }) =>
    change.attributes.contactPoints.map((c) => [
      randomUUID(),
      partyId,
      recordId,
      c.kind,
      c.value,
      c.raw,
      c.searchKey,
      c.valid,
      JSON.stringify(c.issues),
      // A folded record's contact point is valid from the event that gave it.
      change.fold?.fields[contactKey(c.kind)]?.sourceTime ?? change.sourceTime,
    ]),
  );

/** Inserts the identifiers and contact points of any number of source records, a few multi-row statements. */
export async function insertContributions(em: EntityManager, records: readonly Contribution[]): Promise<void> {
  for (const chunk of chunked(identifierRows(records))) {
    await executeBound(
      em,
      `insert into party_identifier (${identifierColumns.join(', ')}) select * from ${unnestOf(identifierTypes)}`,
      byColumn(chunk, identifierTypes.length),
      { prepared: true },
    );
  }
  for (const chunk of chunked(contactPointRows(records))) {
    await executeBound(
      em,
      `insert into contact_point (${contactPointColumns.join(', ')}) select * from ${unnestOf(contactPointTypes)}`,
      byColumn(chunk, contactPointTypes.length),
      { prepared: true },
    );
  }
}

async function deleteParty(
  em: EntityManager,
  change: PartyDelete,
  deps: SyncDeps,
  stats: ApplyStats,
  changed: ChangeSet,
): Promise<ApplyOutcome> {
  const existing = await lockSourceRecord(em, change.system, change.sourceId);
  if (existing && BigInt(existing.source_version) >= BigInt(change.sourceVersion)) return 'STALE';
  if (!existing) {
    // Delete of a record never seen: remember it, so that an older create arriving late cannot resurrect it.
    await executeBound(
      em,
      `insert into source_record (id, system, source_id, attribute_versions, source_time, source_version, deleted) values (?, ?, ?, ?::jsonb, ?, ?, true)`,
      [randomUUID(), change.system, change.sourceId, foldJson(change.fold), change.sourceTime, change.sourceVersion],
    );
    return 'APPLIED';
  }
  await executeBound(
    em,
    `update source_record set deleted = true, attribute_versions = ?::jsonb, source_time = ?, source_version = ?, updated_at = now() where id = ?`,
    [foldJson(change.fold), change.sourceTime, change.sourceVersion, existing.id],
  );
  await executeBound(em, `delete from match_key where source_record_id = ?`, [existing.id]);
  await executeBound(em, `update review_task set status = 'OBSOLETE' where status = 'OPEN' and source_record_id = ?`, [
    existing.id,
  ]);
  if (existing.party_id !== null) {
    await replaceContributions(em, existing.id, existing.party_id, null);
    if (
      (await recomputeParty(em, existing.party_id, 'SOURCE_CHANGE', {
        deleted: `${change.system}/${change.sourceId}`,
      })) === 'CHANGED'
    )
      stats.partiesChanged += 1;
    // A deleted record may have been the one bridging the others: split what no longer holds together.
    await reclusterParty(em, deps.matcher, existing.party_id, `${change.system}/${change.sourceId} deleted`);
    changed.customers.add(existing.party_id);
  }
  return 'APPLIED';
}
