import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyDelete } from '../domain/canonical.ts';
import { copyRows } from '../db/copy.ts';
import { executeBound } from '../db/bound-sql.ts';
import { dropSecondaryIndexes, restoreSecondaryIndexes } from '../db/bulk-indexes.ts';
import { chunked } from '../db/sql-sets.ts';
import { contactPointColumns, contactPointRows, identifierColumns, identifierRows } from './party-change.ts';
import { foldJson } from './party-batch-types.ts';
import { recomputeParties, type HistoryCause } from './survivorship.ts';
import type { ChangeSet } from './change-set.ts';
import { attributesOf, type SnapshotResolution, type SnapshotWrite } from './bulk-resolve.ts';
import { randomUUID } from 'node:crypto';

/**
 * The writes of the bulk initial load: the records `resolveSnapshot` decided (bulk-resolve.ts) go out with
 * COPY, table by table, parents before children — the same rows the set-based streaming path writes
 * (party-batch-flush.ts) for the same decisions, and records whose last change was a delete as tombstones (as
 * streaming leaves them: deleted, no golden record). Then survivorship gives every new golden record its values,
 * lineage, first history row and CREATED event, a thousand at a time, exactly as after streaming ingest.
 * Rows are generated as COPY streams them (never a second copy of the snapshot as rows), and the resolution's
 * records are released once written (`resolution.records` is emptied): survivorship reads them back from the
 * store, so the snapshot is not held in memory twice. Returns the number of rows written per table.
 */
export async function writeSnapshot(
  em: EntityManager,
  resolution: SnapshotResolution,
  tombstones: readonly PartyDelete[],
  changed: ChangeSet,
  phaseDone: (phase: string) => void = () => {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const linkedAt = new Date();
  const parties = resolution.parties;
  // On an empty store (the initial load this is for), the tables' secondary indexes and foreign keys go while
  // COPY fills them and are built once afterwards, in this transaction (src/db/bulk-indexes.ts). On a store that
  // holds golden records they stay: dropping them takes exclusive locks that would block a running hub.
  const [store] = await executeBound<{ empty: boolean }[]>(
    em,
    'select not exists (select 1 from party) and not exists (select 1 from source_record) as empty',
  );
  const dropped = store?.empty ? await dropSecondaryIndexes(em, bulkTables) : null;
  counts.party = await copyRows(
    em,
    'party',
    ['id', 'kind'],
    rowsOf(parties, (p) => [p.id, p.kind]),
  );
  const writes = resolution.records;
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
    rowsOf(writes, (w) => [
      w.id,
      w.record.system,
      w.record.sourceId,
      w.record.raw.toString('utf8'),
      w.record.attributes.toString('utf8'),
      foldJson(w.record.fold),
      w.profile?.toString('utf8') ?? null,
      w.record.sourceTime,
      w.record.sourceVersion,
      w.partyId,
      w.linkType,
      w.score,
      linkedAt,
      w.explanation.toString('utf8'),
    ]),
  );
  counts.tombstones = await copyRows(
    em,
    'source_record',
    ['id', 'system', 'source_id', 'attribute_versions', 'source_time', 'source_version', 'deleted'],
    rowsOf(tombstones, (d) => [
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
      for (const w of writes) for (const k of w.keys) yield [k, w.id];
    })(),
  );
  await executeBound(
    em,
    'insert into match_key (key_hash, source_record_id) select distinct hashtextextended(key, 0), source_record_id from bulk_match_key on conflict do nothing',
  );
  counts.party_identifier = await copyRows(
    em,
    'party_identifier',
    identifierColumns,
    contributions(writes, identifierRows),
  );
  counts.contact_point = await copyRows(
    em,
    'contact_point',
    contactPointColumns,
    contributions(writes, contactPointRows),
  );
  counts.review_task = await copyRows(
    em,
    'review_task',
    ['id', 'source_record_id', 'candidate_party_id', 'probability', 'explanation'],
    rowsOf([...resolution.reviews.values()], (r) => [
      randomUUID(),
      r.recordId,
      r.partyId,
      r.probability,
      r.explanation,
    ]),
  );
  // Written: survivorship below reads the records back from the store.
  resolution.records = [];
  resolution.reviews.clear();
  phaseDone('copy');
  if (dropped) {
    // Everything survivorship reads by (source records by golden record) back before it runs; the golden
    // records' own indexes (names: B-tree, prefix, trigram GIN) after it, which rewrites every golden record.
    await restoreSecondaryIndexes(
      em,
      dropped,
      bulkTables.filter((t) => t !== 'party'),
    );
    phaseDone('indexes');
  }
  // Fresh statistics for the statements below and the follow-up (the tables were empty when last analysed).
  await executeBound(em, `analyze ${bulkTables.join(', ')}`);
  phaseDone('analyze');
  // Survivorship, history and events of the new golden records.
  let recomputed = 0;
  for (const chunk of chunked(parties, 5_000)) {
    const causes = new Map<string, { cause: HistoryCause; detail: Record<string, unknown> }>(
      chunk.map((p) => [p.id, { cause: 'CREATED', detail: { by: 'bulk load' } }]),
    );
    recomputed += (await recomputeParties(em, causes)).size;
    for (const p of chunk) changed.customers.add(p.id);
  }
  counts.recomputed = recomputed;
  phaseDone('survivorship');
  if (dropped) {
    await restoreSecondaryIndexes(em, dropped);
    phaseDone('indexes');
  }
  return counts;
}

/** The tables the bulk load writes with COPY. */
const bulkTables = ['party', 'source_record', 'match_key', 'party_identifier', 'contact_point', 'review_task'];

function* rowsOf<T>(items: readonly T[], row: (item: T) => unknown[]): Generator<unknown[]> {
  for (const item of items) yield row(item);
}

/** Identifier or contact-point rows of the records, a thousand records at a time (not all at once). */
function* contributions(writes: readonly SnapshotWrite[], rows: typeof identifierRows): Generator<unknown[]> {
  for (let i = 0; i < writes.length; i += 1_000)
    yield* rows(
      writes.slice(i, i + 1_000).map((w) => ({
        recordId: w.id,
        partyId: w.partyId,
        change: {
          entity: 'party' as const,
          op: 'upsert' as const,
          system: w.record.system,
          sourceId: w.record.sourceId,
          sourceVersion: w.record.sourceVersion,
          sourceTime: w.record.sourceTime,
          fold: w.record.fold,
          raw: {},
          attributes: attributesOf(w.record),
        },
      })),
    );
}
