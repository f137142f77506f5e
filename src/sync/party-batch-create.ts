import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { byColumn, chunked, unnestOf } from '../db/sql-sets.ts';
import type { AttributeVersions, PartyAttributes } from '../domain/canonical.ts';
import {
  goldenTypes,
  goldenValuesOf,
  survive,
  whatChanged,
  type HistoryCause,
  type PartyRow,
  type SurvivorCandidate,
} from './survivorship.ts';
import { writeHistories } from './history.ts';
import type { Segment } from './party-batch-types.ts';

/**
 * The golden records a segment of set-based identity resolution creates (apply-parties.ts), inserted with their
 * survived values and first history row at once. Every member of a golden record the segment creates is a record
 * the segment itself writes (a stored record that would join it is a move, applied one at a time), so its values
 * are known before anything is sent. Inserting a bare row and surviving it after the flush (recomputeParties) gives
 * the same row, version, history row and change event, but wrote the row twice — the second time a non-HOT update
 * adding an entry to each of its indexes (its name's trigrams included) — and read the members back.
 *
 * The first version of a golden record is 2, as it has always been (inserted at 1 and survived in the same
 * transaction; the one-at-a-time path still does it that way). Returns the ids inserted; the caller leaves them out
 * of the segment's own party inserts and out of the recompute.
 */
export async function insertNewGoldenRecords(
  em: EntityManager,
  segment: Segment,
  recompute: ReadonlyMap<string, { cause: HistoryCause; detail: Record<string, unknown> }>,
): Promise<Set<string>> {
  const inserted = new Set<string>();
  if (segment.parties.length === 0) return inserted;
  const members = new Map<string, SurvivorCandidate[]>(segment.parties.map((p) => [p.id, []]));
  for (const w of segment.records.values()) {
    const list = members.get(w.partyId);
    if (!list) continue;
    // As recomputeParties reads them back from source_record: the attributes and fold as stored (JSON).
    list.push({
      sourceRecordId: w.id,
      system: w.change.system,
      sourceId: w.change.sourceId,
      sourceTime: w.sourceTime === null ? null : new Date(w.sourceTime.getTime()),
      attributes: JSON.parse(JSON.stringify(w.change.attributes)) as PartyAttributes,
      attributeVersions:
        w.change.fold === undefined ? null : (JSON.parse(JSON.stringify(w.change.fold)) as AttributeVersions),
    });
  }
  const rows = segment.parties.flatMap((p) => {
    const list = members.get(p.id) ?? [];
    if (list.length === 0) return []; // (never: a new golden record has the record that created it)
    const { values, lineage } = survive(list);
    const next: PartyRow = { ...values, status: 'ACTIVE', lineage };
    const bare: PartyRow = {
      kind: p.kind as PartyRow['kind'],
      displayName: null,
      familyName: null,
      givenName: null,
      nameKey: null,
      birthDate: null,
      sex: null,
      occupationCode: null,
      status: 'ACTIVE',
      lineage: {},
    };
    return [{ id: p.id, next, ...whatChanged(bare, next) }];
  });
  // In the segment's order: clock_timestamp() orders golden records created in one transaction (a merge keeps the
  // oldest), as the bare inserts did.
  for (const chunk of chunked(rows)) {
    await executeBound(
      em,
      `insert into party (id, kind, status, display_name, family_name, given_name, name_key, birth_date, sex, occupation_code, lineage, version, created_at)
       select v.*, 2, clock_timestamp() from ${unnestOf(['uuid', ...goldenTypes, 'jsonb'])} as v`,
      byColumn(
        chunk.map(({ id, next }) => [id, ...goldenValuesOf(next), JSON.stringify(next.lineage)]),
        goldenTypes.length + 2,
      ),
      { prepared: true },
    );
    for (const r of chunk) inserted.add(r.id);
  }
  await writeHistories(
    em,
    rows.map((r) => {
      const given = recompute.get(r.id) ?? { cause: 'CREATED' as const, detail: {} };
      return {
        partyId: r.id,
        version: 2,
        cause: given.cause,
        detail: given.detail,
        snapshot: r.next,
        created: true,
        changedAttributes: r.changedAttributes,
        sourcesChanged: r.sourcesChanged,
      };
    }),
  );
  return inserted;
}
