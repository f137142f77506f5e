import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AttributeVersions, PartyAttributes } from '../domain/canonical.ts';
import { emptyFold, foldEvent, foldOfSnapshot, foldedAttributes } from '../domain/event-fold.ts';
import { chunked, marks } from '../db/sql-sets.ts';
import { type PartyChange, recordKey, sameJson } from './party-batch-types.ts';

/**
 * Change events (a connector whose manifest says `messages: 'changes'`) become whole-record changes here, before
 * identity resolution: each event is folded into its record's per-attribute state (`attribute_versions`, see
 * src/domain/event-fold.ts), and the change carries the folded attributes, the record's version (the highest
 * of its events) and the new state. From there the change goes through identity resolution and survivorship
 * like any whole record:
 *   - an event newer than the record: folded, and the record takes its version, time and payload;
 *   - an event older than the record (arriving late): folded in its place; the record keeps its version, time
 *     and payload (the newest event's), and only the attributes the late event still wins change;
 *   - an event that changes nothing it is older than (a redelivery, a late event every attribute of which a
 *     newer one already superseded): left as it came, so the sync step drops it as stale;
 *   - a delete empties the state and sets its floor: events at or below it are stale, later ones start afresh.
 * Changes of other connectors pass through untouched. The batch's events are folded in order, each seeing the
 * ones before it.
 */
export async function foldChangeEvents(em: EntityManager, changes: readonly PartyChange[]): Promise<PartyChange[]> {
  const events = changes.filter((c) => c.carries === 'changes');
  if (events.length === 0) return [...changes];
  const states = await loadFoldStates(em, events);
  return changes.map((c) => {
    if (c.carries !== 'changes') return c;
    const key = recordKey(c.system, c.sourceId);
    const held = states.get(key);
    const version = BigInt(c.sourceVersion);
    const older = held !== undefined && version <= held.version;
    if (c.op === 'delete') {
      if (older) return c; // stale
      const fold = emptyFold(c.sourceVersion);
      states.set(key, { version, deleted: true, fold, raw: held?.raw ?? null, sourceTime: c.sourceTime });
      return { ...c, fold };
    }
    if (held?.deleted && older) return c; // an event of the deleted record: stale
    const before = held === undefined ? emptyFold() : held.deleted ? emptyFold(held.version.toString()) : held.fold;
    const fold = foldEvent(before, {
      attributes: c.attributes,
      sourceVersion: c.sourceVersion,
      sourceTime: c.sourceTime,
      eventId: c.eventId ?? null,
    });
    if (older && sameJson(fold, before)) return c; // changes nothing: stale
    const raw = older ? (held.raw ?? c.raw) : c.raw;
    const sourceTime = older ? held.sourceTime : c.sourceTime;
    const recordVersion = older ? held.version : version;
    states.set(key, { version: recordVersion, deleted: false, fold, raw, sourceTime });
    return {
      ...c,
      raw,
      sourceTime,
      sourceVersion: recordVersion.toString(),
      attributes: foldedAttributes(fold),
      fold,
    };
  });
}

type FoldState = {
  version: bigint;
  deleted: boolean;
  fold: AttributeVersions;
  raw: Record<string, unknown> | null;
  sourceTime: Date | null;
};

/** The stored state of the events' records (their record locks are held since lockPartyKeys). */
async function loadFoldStates(em: EntityManager, events: readonly PartyChange[]): Promise<Map<string, FoldState>> {
  const states = new Map<string, FoldState>();
  const pairs = [...new Map(events.map((c) => [recordKey(c.system, c.sourceId), c])).values()];
  for (const chunk of chunked(pairs)) {
    const rows = await executeBound<
      {
        system: string;
        source_id: string;
        source_version: string;
        deleted: boolean;
        attribute_versions: AttributeVersions | null;
        attributes: PartyAttributes | null;
        raw: Record<string, unknown> | null;
        source_time: Date | null;
      }[]
    >(
      em,
      `select sr.system, sr.source_id, sr.source_version::text as source_version, sr.deleted, sr.attribute_versions, sr.attributes, sr.raw, sr.source_time
         from (values ${marks(chunk.length, '(?, ?)')}) as wanted(system, source_id)
         join source_record sr on sr.system = wanted.system and sr.source_id = wanted.source_id`,
      chunk.flatMap((c) => [c.system, c.sourceId]),
    );
    for (const r of rows) {
      const sourceTime = r.source_time ? new Date(r.source_time) : null;
      // A record stored whole before its source was folded counts as one snapshot at its version.
      const fold =
        r.attribute_versions ??
        (r.attributes && !r.deleted ? foldOfSnapshot(r.attributes, r.source_version, sourceTime) : emptyFold());
      states.set(recordKey(r.system, r.source_id), {
        version: BigInt(r.source_version),
        deleted: r.deleted,
        fold,
        raw: r.raw,
        sourceTime,
      });
    }
  }
  return states;
}
