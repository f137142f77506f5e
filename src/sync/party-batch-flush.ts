import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertContributions } from './party-change.ts';
import { insertMatchKeys } from './identity.ts';
import { byColumn, chunked, marks, unnestOf } from '../db/sql-sets.ts';
import { type Segment, foldJson } from './party-batch-types.ts';

/** The types of a new source record's columns as `flush` inserts them (array parameters, `unnestOf`). */
const freshRecordTypes = [
  'uuid',
  'text',
  'text',
  'jsonb',
  'jsonb',
  'jsonb',
  'jsonb',
  'timestamptz',
  'bigint',
  'uuid',
  'text',
  'float8',
  'jsonb',
];

/**
 * The writes of set-based identity resolution (apply-parties.ts): what the batch decided in memory goes out as
 * a few multi-row statements per table, parents before children.
 */
/** Sends a segment's writes, a few multi-row statements per table, parents before children. */
export async function flush(em: EntityManager, segment: Segment): Promise<void> {
  for (const chunk of chunked(segment.parties)) {
    // clock_timestamp(), not the transaction's now(): the oldest golden record survives a merge, and golden
    // records created in one transaction must still have an order (the order they were created in).
    await executeBound(
      em,
      `insert into party (id, kind, created_at) select v.*, clock_timestamp() from ${unnestOf(['uuid', 'text'])} as v`,
      byColumn(
        chunk.map((p) => [p.id, p.kind]),
        2,
      ),
      { prepared: true },
    );
  }
  const writes = [...segment.records.values()];
  const fresh = writes.filter((w) => w.fresh);
  const stored = writes.filter((w) => !w.fresh);
  for (const chunk of chunked(fresh)) {
    await executeBound(
      em,
      `insert into source_record (id, system, source_id, raw, attributes, attribute_versions, match_profile, source_time, source_version, party_id, link_type, link_score, linked_at, match_explanation)
       select v.id, v.system, v.source_id, v.raw, v.attributes, v.attribute_versions, v.match_profile, v.source_time, v.source_version, v.party_id, v.link_type, v.link_score, now(), v.match_explanation
         from ${unnestOf(freshRecordTypes)}
              as v(id, system, source_id, raw, attributes, attribute_versions, match_profile, source_time, source_version, party_id, link_type, link_score, match_explanation)`,
      byColumn(
        chunk.map((w) => [
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
          JSON.stringify(w.explanation),
        ]),
        freshRecordTypes.length,
      ),
      { prepared: true },
    );
  }
  for (const chunk of chunked(stored)) {
    // A stored record keeps its golden record here (moves are applied one at a time); its explanation is
    // refreshed unless a steward linked it by hand.
    await executeBound(
      em,
      `update source_record sr set raw = v.raw::jsonb, attributes = v.attributes::jsonb, attribute_versions = v.attribute_versions::jsonb, match_profile = v.profile::jsonb,
              source_time = v.source_time::timestamptz, source_version = v.source_version::bigint, deleted = false, updated_at = now(),
              match_explanation = case when sr.link_type = 'MANUAL' or v.explanation is null then sr.match_explanation else v.explanation::jsonb end
         from (values ${marks(chunk.length, '(?::uuid, ?, ?, ?, ?, ?, ?, ?)')}) as v(id, raw, attributes, attribute_versions, profile, source_time, source_version, explanation)
        where sr.id = v.id`,
      chunk.flatMap((w) => [
        w.id,
        JSON.stringify(w.raw),
        JSON.stringify(w.change.attributes),
        foldJson(w.change.fold),
        w.profile,
        w.sourceTime?.toISOString() ?? null,
        w.sourceVersion,
        w.explanation ? JSON.stringify(w.explanation) : null,
      ]),
    );
  }
  for (const chunk of chunked([...segment.touches])) {
    await executeBound(
      em,
      `update source_record sr set raw = v.raw::jsonb, attribute_versions = v.attribute_versions::jsonb, source_time = v.source_time::timestamptz,
              source_version = v.source_version::bigint, updated_at = now()
         from (values ${marks(chunk.length, '(?::uuid, ?, ?, ?, ?)')}) as v(id, raw, attribute_versions, source_time, source_version) where sr.id = v.id`,
      chunk.flatMap(([id, t]) => [
        id,
        JSON.stringify(t.raw),
        foldJson(t.fold ?? undefined),
        t.sourceTime?.toISOString() ?? null,
        t.sourceVersion,
      ]),
    );
  }
  const replaced = stored.map((w) => w.id);
  for (const chunk of chunked(replaced, 1000)) {
    const list = marks(chunk.length);
    await executeBound(em, `delete from match_key where source_record_id in (${list})`, chunk);
    await executeBound(em, `delete from party_identifier where source_record_id in (${list})`, chunk);
    await executeBound(em, `delete from contact_point where source_record_id in (${list})`, chunk);
  }
  await insertMatchKeys(
    em,
    [...segment.keys].flatMap(([id, keys]) => keys.map((k) => [k, id] as const)),
  );
  await insertContributions(
    em,
    writes.map((w) => ({ recordId: w.id, partyId: w.partyId, change: w.change })),
  );
  for (const chunk of chunked([...segment.reviews.values()])) {
    await executeBound(
      em,
      `insert into review_task (id, source_record_id, candidate_party_id, probability, explanation) values ${marks(chunk.length, '(gen_random_uuid(), ?, ?, ?, ?::jsonb)')}
       on conflict (source_record_id, candidate_party_id) where status = 'OPEN' do update set probability = excluded.probability, explanation = excluded.explanation`,
      chunk.flatMap((r) => [r.recordId, r.partyId, r.probability, JSON.stringify(r.explanation)]),
    );
  }
}
