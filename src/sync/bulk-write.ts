import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyDelete } from '../domain/canonical.ts';
import { copyRows } from '../db/copy.ts';
import { executeBound } from '../db/bound-sql.ts';
import { chunked } from '../db/sql-sets.ts';
import { contactPointColumns, contactPointRows, identifierColumns, identifierRows } from './party-change.ts';
import { foldJson, type Segment } from './party-batch-types.ts';
import { recomputeParties, type HistoryCause } from './survivorship.ts';
import type { ChangeSet } from './change-set.ts';
import { randomUUID } from 'node:crypto';

/**
 * The writes of the bulk initial load: the segment `resolveSnapshot` decided (bulk-resolve.ts) goes out with
 * COPY, table by table, parents before children — the same rows the set-based streaming path writes
 * (party-batch-flush.ts) for the same decisions, and records whose last change was a delete as tombstones (as
 * streaming leaves them: deleted, no golden record). Then survivorship gives every new golden record its values,
 * lineage, first history row and CREATED event, a thousand at a time, exactly as after streaming ingest.
 * Returns the number of rows written per table.
 */
export async function writeSnapshot(
  em: EntityManager,
  segment: Segment,
  tombstones: readonly PartyDelete[],
  changed: ChangeSet,
  phaseDone: (phase: string) => void = () => {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const linkedAt = new Date();
  counts.party = await copyRows(
    em,
    'party',
    ['id', 'kind'],
    segment.parties.map((p) => [p.id, p.kind]),
  );
  const writes = [...segment.records.values()];
  counts.source_record = await copyRows(
    em,
    'source_record',
    [
      'id',
      'system',
      'source_id',
      'raw',
      'attributes',
      'attribute_versions',
      'match_profile',
      'source_time',
      'source_version',
      'party_id',
      'link_type',
      'link_score',
      'linked_at',
      'match_explanation',
    ],
    writes.map((w) => [
      w.id,
      w.change.system,
      w.change.sourceId,
      JSON.stringify(w.raw),
      JSON.stringify(w.change.attributes),
      foldJson(w.change.fold),
      w.profile,
      w.sourceTime,
      w.sourceVersion,
      w.partyId,
      w.link?.linkType ?? 'NEW',
      w.link?.score ?? null,
      linkedAt,
      JSON.stringify(w.explanation),
    ]),
  );
  counts.tombstones = await copyRows(
    em,
    'source_record',
    ['id', 'system', 'source_id', 'attribute_versions', 'source_time', 'source_version', 'deleted'],
    tombstones.map((d) => [
      randomUUID(),
      d.system,
      d.sourceId,
      foldJson(d.fold),
      d.sourceTime,
      d.sourceVersion,
      'true',
    ]),
  );
  // Blocking keys are stored hashed as the candidate search reads them: COPY cannot call the hash, so the keys
  // go to a temporary table first.
  await executeBound(em, 'create temporary table bulk_match_key (key text, source_record_id uuid) on commit drop');
  counts.match_key = await copyRows(
    em,
    'bulk_match_key',
    ['key', 'source_record_id'],
    (function* () {
      for (const [id, keys] of segment.keys) for (const k of keys) yield [k, id];
    })(),
  );
  await executeBound(
    em,
    'insert into match_key (key_hash, source_record_id) select distinct hashtextextended(key, 0), source_record_id from bulk_match_key on conflict do nothing',
  );
  const contributions = writes.map((w) => ({ recordId: w.id, partyId: w.partyId, change: w.change }));
  counts.party_identifier = await copyRows(em, 'party_identifier', identifierColumns, identifierRows(contributions));
  counts.contact_point = await copyRows(em, 'contact_point', contactPointColumns, contactPointRows(contributions));
  counts.review_task = await copyRows(
    em,
    'review_task',
    ['id', 'source_record_id', 'candidate_party_id', 'probability', 'explanation'],
    [...segment.reviews.values()].map((r) => [
      randomUUID(),
      r.recordId,
      r.partyId,
      r.probability,
      JSON.stringify(r.explanation),
    ]),
  );
  phaseDone('copy');
  // Survivorship, history and events of the new golden records.
  let recomputed = 0;
  for (const chunk of chunked(segment.parties, 5_000)) {
    const causes = new Map<string, { cause: HistoryCause; detail: Record<string, unknown> }>(
      chunk.map((p) => [p.id, { cause: 'CREATED', detail: { by: 'bulk load' } }]),
    );
    recomputed += (await recomputeParties(em, causes)).size;
    for (const p of chunk) changed.customers.add(p.id);
  }
  counts.recomputed = recomputed;
  phaseDone('survivorship');
  return counts;
}
