import type { EntityManager } from '@mikro-orm/postgresql';
import type { AttributeVersions, PartyAttributes } from '../domain/canonical.ts';
import { copyRows } from '../db/copy.ts';
import { executeBound } from '../db/bound-sql.ts';
import { analyzePlannerColumns } from '../db/analyze.ts';
import { type DroppedSchema, dropSecondaryIndexes, restoreSecondaryIndexes } from '../db/bulk-indexes.ts';
import {
  type Contribution,
  contactPointColumns,
  contactPointRows,
  identifierColumns,
  identifierRows,
} from './party-change.ts';
import {
  partyCreation,
  writePartyCreation,
  type GoldenValues,
  type LiveRecordRow,
  liveRecordColumns,
  type SurvivorCandidate,
  survivorOf,
} from './survivorship.ts';
import type { ChangeSet } from './change-set.ts';
import { explainRecord, type SnapshotResolution } from './bulk-resolve.ts';
import { cursorRows } from '../db/cursor.ts';
import { StatementLane } from '../db/statement-lane.ts';
import type { BatchMatching } from './match/matcher.ts';
import { randomUUID } from 'node:crypto';

/**
 * The writes of the bulk initial load: the records `resolveStaged` decided (bulk-resolve.ts) — the same rows the
 * set-based streaming path writes (party-batch-flush.ts) for the same decisions, and records whose last change
 * was a delete as tombstones (as streaming leaves them: deleted, no golden record). Golden records go out with
 * COPY; source records, blocking keys, identifiers and contact points are written set-wise inside the database
 * from the stage (bulk-stage.ts) joined with the links the explain pass copied there, so no payload passes through
 * this process twice. Then survivorship gives every new golden record its values, lineage, first history row and
 * CREATED event, 5,000 at a time, exactly as after streaming ingest. Returns the number of rows written per table.
 */
export async function writeSnapshot(
  em: EntityManager,
  resolution: SnapshotResolution,
  matching: BatchMatching,
  changed: ChangeSet,
  /** What `prepareSnapshotWrite` dropped: restored here. */
  dropped: DroppedSchema,
  phaseDone: (phase: string) => void = () => {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const parties = resolution.parties;
  // The records stream out of the stage once more, in `idx` order: each is explained (its link and review tasks)
  // with its attributes at hand, and its link, identifiers and contact points go to temporary tables; the source
  // records themselves are then written set-wise from the stage joined with the links, in the database.
  await executeBound(
    em,
    `create temporary table bulk_link (idx int primary key, id uuid not null, party_id uuid not null,
       link_type text not null, link_score double precision, match_profile jsonb, match_explanation jsonb) on commit drop`,
  );
  await executeBound(em, 'create temporary table bulk_identifier (like party_identifier) on commit drop');
  await executeBound(em, 'create temporary table bulk_contact_point (like contact_point) on commit drop');
  const writes = new StatementLane();
  await writes.around(async () => {
    for await (const rows of cursorRows<{
      idx: number;
      source_version: string;
      source_time: Date | null;
      fold: AttributeVersions | null;
      attributes: PartyAttributes;
    }>(em, 'bulk_explain', 'select idx, source_version, source_time, fold, attributes from bulk_record order by idx')) {
      const links: unknown[][] = [];
      const contributions: Contribution[] = [];
      for (const row of rows) {
        const i = row.idx;
        const link = explainRecord(resolution, matching, i, row.attributes);
        const recordId = resolution.ids[i] as string;
        const { partyId } = link;
        const profile = resolution.profiles[i];
        links.push([
          i,
          recordId,
          partyId,
          link.linkType,
          link.score,
          profile == null ? null : JSON.stringify(profile),
          JSON.stringify(link.explanation),
        ]);
        contributions.push({
          recordId,
          partyId,
          change: {
            entity: 'party',
            op: 'upsert',
            system: resolution.systems[i] as string,
            sourceId: resolution.sourceIds[i] as string,
            sourceVersion: row.source_version,
            sourceTime: row.source_time,
            fold: row.fold ?? undefined,
            raw: {},
            attributes: row.attributes,
          },
        });
      }
      // Written while the next chunk is explained (the cursor has sent its FETCH already: it runs first).
      await writes.queue(async () => {
        await copyRows(
          em,
          'bulk_link',
          ['idx', 'id', 'party_id', 'link_type', 'link_score', 'match_profile', 'match_explanation'],
          links,
        );
        await copyRows(em, 'bulk_identifier', identifierColumns, identifierRows(contributions));
        await copyRows(em, 'bulk_contact_point', contactPointColumns, contactPointRows(contributions));
      });
    }
  });
  phaseDone('explain');
  counts.source_record = await inserted(
    em,
    `insert into source_record (id, system, source_id, raw, attributes, attribute_versions, match_profile, source_time,
       source_version, party_id, link_type, link_score, linked_at, match_explanation)
     select l.id, r.system, r.source_id, r.raw, r.attributes, r.fold, l.match_profile, r.source_time,
       r.source_version, l.party_id, l.link_type, l.link_score, now(), l.match_explanation
       from bulk_record r join bulk_link l using (idx)`,
  );
  counts.tombstones = await inserted(
    em,
    `insert into source_record (id, system, source_id, attribute_versions, source_time, source_version, deleted)
     select gen_random_uuid(), system, source_id, fold, source_time, source_version, true from bulk_tombstone`,
  );
  // Blocking keys were stored (hashed, as the candidate search reads them) while the resolution clustered.
  counts.match_key = await resolution.keysStored;
  // By customer, so that one customer's identifiers and contact points share a heap page or two: a page of search
  // hits reads each hit's contact points, and in source order they lay on as many pages as the customer had
  // source records (at a million customers, most of what a name search read).
  counts.party_identifier = await inserted(
    em,
    'insert into party_identifier select * from bulk_identifier order by party_id, id',
  );
  counts.contact_point = await inserted(
    em,
    'insert into contact_point select * from bulk_contact_point order by party_id, id',
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
  resolution.reviews.clear();
  await executeBound(em, 'drop table bulk_link, bulk_identifier, bulk_contact_point, bulk_key');
  phaseDone('copy');
  // Everything survivorship reads by (source records by golden record) back before it runs; the golden records'
  // own indexes (names: B-tree, prefix, trigram GIN) after they are written, and the foreign keys (most reference
  // the golden records) at the end.
  await restoreSecondaryIndexes(
    em,
    dropped,
    dropped.tables.filter((t) => t !== 'party'),
    true,
  );
  phaseDone('indexes');
  // The golden records themselves, with their survivorship, first history row and CREATED event: the live source
  // records come out of the store by golden record, merged with the load's golden records in id order.
  type Creation = { id: string; kind: GoldenValues['kind']; records: SurvivorCandidate[] };
  const byId = [...parties].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let next = 0;
  let pending: Creation[] = [];
  let created = 0;
  let firstVersions = 0;
  const flush = async () => {
    created += pending.length;
    const creation = partyCreation(pending, { cause: 'CREATED', detail: { by: 'bulk load' } });
    firstVersions += creation.histories.length;
    // Written while the next golden records are computed (after the cursor's FETCH already sent).
    await writes.queue(() => writePartyCreation(em, creation));
    for (const p of pending) changed.customers.add(p.id);
    pending = [];
  };
  const take = async (c: Creation) => {
    pending.push(c);
    if (pending.length >= 5_000) await flush();
  };
  const party = () => {
    const p = byId[next] as { id: string; kind: string };
    next += 1;
    return { id: p.id, kind: p.kind as GoldenValues['kind'], records: [] };
  };
  let current: Creation | null = null;
  await writes.around(async () => {
    for await (const rows of cursorRows<LiveRecordRow>(
      em,
      'bulk_survive',
      `select ${liveRecordColumns} from source_record where not deleted order by party_id`,
    ))
      for (const r of rows) {
        if (current?.id !== r.party_id) {
          if (current) await take(current);
          // Every golden record of the load has a live source record (tombstones get none): the next one is this.
          if (byId[next]?.id !== r.party_id)
            throw new Error('the bulk load: golden and source records out of step (a golden record without records?)');
          current = party();
        }
        current.records.push(survivorOf(r));
      }
    if (current) await take(current);
    if (next !== byId.length) throw new Error('the bulk load: a golden record without source records');
    await flush();
  });
  counts.party = created;
  counts.recomputed = firstVersions;
  phaseDone('survivorship');
  await restoreSecondaryIndexes(em, dropped);
  phaseDone('indexes');
  // Fresh statistics for the follow-up and what runs after the load (the tables were empty when last analysed) —
  // the facts' tables too: the first risk rescan after a load joins activities whole, and on statistics of an
  // empty table its plan was quadratic (src/risk/rescan.ts). A quick sample: autovacuum analyses every table
  // whole after the commit (a column list leaves their change counts standing), so a full sample here would be
  // taken twice.
  await analyzePlannerColumns(em, [...bulkTables, ...factTables]);
  phaseDone('analyze');
  return counts;
}

/**
 * The secondary indexes and foreign keys of the tables the load writes (golden and source records and what hangs
 * off them, and the facts' tables) go while the rows go in and are built once afterwards, in this transaction
 * (src/db/bulk-indexes.ts) — only of tables that are empty (the initial load this is for): on a table that holds
 * rows they stay, since dropping takes an exclusive lock that would block a running hub. Call before the first
 * write of the load (the facts are applied as they stream in) and hand the result to `writeSnapshot`. The
 * tables stay locked (ACCESS EXCLUSIVE) until the load commits: it is for a store no hub is serving yet.
 */
export async function prepareSnapshotWrite(em: EntityManager): Promise<DroppedSchema> {
  const tables = [...bulkTables, ...factTables];
  const [store] = await executeBound<{ empty: string[] }[]>(
    em,
    `select array_remove(array[${tables.map((t) => `case when not exists (select 1 from ${t}) then '${t}' end`).join(', ')}], null) as empty`,
  );
  return dropSecondaryIndexes(em, store?.empty ?? []);
}

/** Rows an `insert … select` wrote. */
async function inserted(em: EntityManager, sql: string): Promise<number> {
  const [row] = await executeBound<{ n: number }[]>(
    em,
    `with written as (${sql} returning 1) select count(*)::int as n from written`,
  );
  return row?.n ?? 0;
}

/** The tables the bulk load writes with COPY. */
const bulkTables = ['party', 'source_record', 'match_key', 'party_identifier', 'contact_point', 'review_task'];
/** Written by the facts step of a bulk load (apply-facts.ts), before the records are resolved and written. */
const factTables = ['policy', 'policy_cover', 'policy_role', 'activity'];

function* rowsOf<T>(items: readonly T[], row: (item: T) => unknown[]): Generator<unknown[]> {
  for (const item of items) yield row(item);
}
