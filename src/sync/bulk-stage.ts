import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyDelete, PartyUpsert } from '../domain/canonical.ts';
import { copyRows } from '../db/copy.ts';
import { executeBound } from '../db/bound-sql.ts';
import { foldJson } from './party-batch-types.ts';
import type { StatementLane } from '../db/statement-lane.ts';

/**
 * The bulk initial load's staging of party changes, in the database rather than in memory: a million customers
 * are about 2.7 million source records whose payloads alone are gigabytes, so the load's process holds none of
 * them. Every party change is appended (COPY, `stageSize` at a time) to a temporary table of the load's
 * transaction; `settle` then keeps each source record's last state, set-wise, exactly as streaming would:
 *   - a folded change event (sources that send only what changed) is the record's state as of that event, and the
 *     last one folded wins;
 *   - otherwise the highest source version wins, the first seen on a tie (streaming skips an equal version);
 * and numbers the records that remain upserts 0..n-1 in source-key order (`bulk_record.idx`, each with its new
 * source-record id): the resolution (bulk-resolve.ts) keeps only compact per-record arrays indexed by it, and the
 * writer (bulk-write.ts) reads the records back in that order. Temporary tables go with the transaction (on commit drop).
 */
export const stageSize = 5_000;

type Staged = { change: PartyUpsert | PartyDelete; folded: boolean };

export class PartyStage {
  private pending: Staged[] = [];
  private seq = 0;
  private created = false;
  staged = 0;
  private readonly em: EntityManager;
  private readonly lane: StatementLane;

  /** Each full batch is written as a job of `lane`, in order with the load's other statements. */
  constructor(em: EntityManager, lane: StatementLane) {
    this.em = em;
    this.lane = lane;
  }

  async add(change: PartyUpsert | PartyDelete, folded = false): Promise<void> {
    this.pending.push({ change, folded });
    if (this.pending.length < stageSize) return;
    const taken = this.take();
    await this.lane.queue(() => this.write(taken));
  }

  async flush(): Promise<void> {
    await this.lane.drain();
    await this.write(this.take());
  }

  private take(): { first: number; rows: Staged[] } {
    const rows = this.pending;
    this.pending = [];
    const first = this.seq;
    this.seq += rows.length;
    this.staged += rows.length;
    return { first, rows };
  }

  private async write({ first, rows: taken }: { first: number; rows: Staged[] }): Promise<void> {
    if (!this.created) {
      await executeBound(
        this.em,
        `create temporary table bulk_stage (
           seq bigint not null, op text not null, folded boolean not null, system text not null,
           source_id text not null, source_version bigint not null, source_time timestamptz, fold jsonb,
           kind text, raw jsonb, attributes jsonb) on commit drop`,
      );
      this.created = true;
    }
    if (taken.length === 0) return;
    await copyRows(
      this.em,
      'bulk_stage',
      [
        'seq',
        'op',
        'folded',
        'system',
        'source_id',
        'source_version',
        'source_time',
        'fold',
        'kind',
        'raw',
        'attributes',
      ],
      (function* () {
        for (const [k, { change: c, folded }] of taken.entries())
          yield [
            first + k,
            c.op,
            folded ? 't' : 'f',
            c.system,
            c.sourceId,
            c.sourceVersion,
            c.sourceTime,
            foldJson(c.fold),
            c.op === 'upsert' ? c.attributes.kind : null,
            c.op === 'upsert' ? JSON.stringify(c.raw) : null,
            c.op === 'upsert' ? JSON.stringify(c.attributes) : null,
          ];
      })(),
    );
  }

  /**
   * Each source record's last state: `bulk_record` (upserts, numbered `idx` in source-key order, byte order as
   * JavaScript compares ASCII keys) and `bulk_tombstone` (records whose last change was a delete). Returns how many
   * of each.
   */
  async settle(): Promise<{ records: number; tombstones: number }> {
    await this.flush();
    // Which staged change is each record's last state is decided on narrow rows (key, order, seq); the wide rows
    // (payloads) are sorted once, into `idx` order, as the records are made — the cursors that stream them out
    // read them in that order through the primary key (with statistics, below) instead of sorting them again.
    await executeBound(
      this.em,
      `create temporary table bulk_last on commit drop as
         select seq, op, (case when op = 'upsert'
                  then row_number() over (partition by op = 'upsert' order by system collate "C", source_id collate "C") - 1
                end)::int as idx
           from (select distinct on (system, source_id) seq, op, system, source_id
                   from bulk_stage
                  order by system, source_id, folded desc, case when folded then -seq else 0 end, source_version desc, seq) w`,
    );
    await executeBound(
      this.em,
      `create temporary table bulk_record on commit drop as
         select l.idx, gen_random_uuid() as id, s.system, s.source_id, s.source_version, s.source_time, s.fold, s.kind,
                s.raw, s.attributes
           from bulk_last l join bulk_stage s using (seq)
          where l.op = 'upsert'
          order by l.idx`,
    );
    await executeBound(this.em, 'alter table bulk_record add primary key (idx)');
    // Temporary tables are never analysed by autovacuum: without statistics the planner would sort the records
    // by idx for every cursor rather than trust the primary key's order.
    await executeBound(this.em, 'analyze bulk_record (idx)');
    await executeBound(
      this.em,
      `create temporary table bulk_tombstone on commit drop as
         select s.system, s.source_id, s.source_version, s.source_time, s.fold
           from bulk_last l join bulk_stage s using (seq)
          where l.op = 'delete'`,
    );
    await executeBound(this.em, 'drop table bulk_last, bulk_stage');
    const [counts] = await executeBound<{ records: number; tombstones: number }[]>(
      this.em,
      'select (select count(*) from bulk_record)::int as records, (select count(*) from bulk_tombstone)::int as tombstones',
    );
    return counts ?? { records: 0, tombstones: 0 };
  }
}
