import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { createLogger } from '../../src/config/logger.ts';
import { TableStatistics } from '../../src/ingest/table-statistics.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Found by bench:ingest with two ingest transactions at once (INGEST_CONCURRENCY=2) on an empty store: the first
 * ANALYZE came while the transaction holding the first customers was still open, recorded `party`,
 * `source_record` and `match_key` as empty, and a candidate lookup planned for empty tables walked whole tables
 * for every key — minutes per batch, the hub stalled. The statistics now follow PostgreSQL's counters of committed
 * changes: a table whose rows were in flight at an analyse is analysed again once they have landed.
 */
describe('planner statistics during a catch-up', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let admin: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('hub_table_stats');
    orm = await openOrm(db.url, { poolMax: 2 });
    await migrate(orm);
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await orm?.close(true);
    await db?.drop();
  });

  const reltuples = async (table: string) =>
    (await admin.query<{ n: number }>(`select reltuples::int as n from pg_class where relname = $1`, [table])).rows[0]
      ?.n;

  /** Party's changes since its last analyse as the counters show them, once they show `n` (or after ~10 s). */
  const partyChangesReaching = async (n: number) => {
    const observer = new pg.Client({ connectionString: db.url });
    await observer.connect();
    let changes = 0;
    try {
      for (let i = 0; i < 50 && changes < n; i += 1) {
        const { rows } = await observer.query<{ n: number }>(
          `select n_mod_since_analyze::int as n from pg_stat_user_tables where relname = 'party'`,
        );
        changes = rows[0]?.n ?? 0;
        if (changes < n) await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await observer.end();
    }
    return changes;
  };

  it('re-analyses a table whose rows were uncommitted when it was last analysed', async () => {
    const stats = new TableStatistics(orm, createLogger('error'));
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    await writer.query('begin');
    await writer.query(`insert into party (id, kind) select gen_random_uuid(), 'PERSON' from generate_series(1, 3000)`);
    // An analyse while they are in flight (as the old schedule's first one was) sees an empty table.
    await admin.query('analyze party');
    expect(await reltuples('party')).toBe(0);
    expect(await stats.refresh()).not.toContain('party');
    await writer.query('commit');
    await writer.end(); // a session's counters reach the shared statistics at the latest when it ends

    let analysed: string[] = [];
    for (let i = 0; i < 50 && !analysed.includes('party'); i += 1) {
      analysed = await stats.refresh();
      if (!analysed.includes('party')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(analysed).toContain('party');
    expect(await reltuples('party')).toBe(3000);
    // Nothing changed since: nothing to analyse.
    expect(await stats.refresh()).toEqual([]);
  });

  it('leaves a large table that grew by less than a third to autovacuum', async () => {
    const stats = new TableStatistics(orm, createLogger('error'));
    await admin.query(`insert into party (id, kind) select gen_random_uuid(), 'PERSON' from generate_series(1, 1200)`);
    await admin.query('select pg_stat_force_next_flush()');
    // Once the counters show the 1,200 changes (on a table of 4,200 rows: not a third of it) …
    expect(await partyChangesReaching(1200)).toBe(1200);
    expect(await stats.refresh()).not.toContain('party');
    expect(await reltuples('party')).toBe(3000);
  });

  it('checks when a backlog has been applied, without waiting for the next 2,000 messages', async () => {
    const stats = new TableStatistics(orm, createLogger('error'), { afterBacklogMs: 200 });
    await admin.query(`insert into party (id, kind) select gen_random_uuid(), 'PERSON' from generate_series(1, 2000)`);
    await admin.query('select pg_stat_force_next_flush()');
    expect(await partyChangesReaching(3200)).toBe(3200); // of 6,200 rows: more than a third
    // A few hundred messages applied with nothing waiting: no check.
    stats.noteApplied(300, 0);
    await new Promise((r) => setTimeout(r, 600));
    expect(await reltuples('party')).toBe(3000);
    // A backlog (5,000 waiting), then its last commit (none waiting): checked shortly after, not 2,000 messages later.
    stats.noteApplied(300, 5000);
    stats.noteApplied(300, 0);
    let n = await reltuples('party');
    for (let i = 0; i < 50 && n !== 6200; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      n = await reltuples('party');
    }
    expect(n).toBe(6200);
    await stats.close();
  });
});
