import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { warmRelations } from '../../src/db/warm.ts';
import { servingTables } from '../../src/services/serving-tables.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * `hub warm` reads the serving path's indexes and heaps into the server's cache with pg_prewarm (after a bulk load
 * or a server restart): per table its indexes, then its heap, in the serving path's order, within a budget.
 */
const run = promisify(execFile);

describe('warming the serving tables', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_warm');
    orm = await openOrm(db.url, { poolMax: 1 });
    await migrate(orm);
    const em = orm.em.fork();
    // Some pages to read: golden records and their contact points.
    await em.execute(
      `insert into party (id, kind, status, display_name, name_key, lineage, version, created_at, updated_at)
       select gen_random_uuid(), 'PERSON', 'ACTIVE', '客户' || g, '客户' || g, '{}'::jsonb, 1, now(), now() from generate_series(1, 3000) g`,
    );
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('reads each table indexes first, then its heap, in the order given, and keeps to the budget', async () => {
    const em = orm.em.fork();
    const tables = [
      { table: 'party', heap: true },
      { table: 'contact_point', heap: true },
      { table: 'relationship', heap: false },
    ];
    const all = await warmRelations(em, tables);
    const names = all.warmed.map((w) => w.relation);
    expect(all.skipped).toEqual([]);
    const indexesOf = async (table: string) =>
      (
        await em.execute<{ name: string }[]>(
          `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = ?::regclass`,
          [table],
        )
      ).map((r) => r.name);
    const party = await indexesOf('party');
    const contact = await indexesOf('contact_point');
    const relationship = await indexesOf('relationship');
    expect(party.length).toBeGreaterThan(2);
    expect(names.slice(0, party.length).sort()).toEqual([...party].sort());
    expect(names[party.length]).toBe('party');
    expect(names.slice(party.length + 1, party.length + 1 + contact.length).sort()).toEqual([...contact].sort());
    expect(names[party.length + 1 + contact.length]).toBe('contact_point');
    // No heap where none is asked for.
    expect(names.slice(party.length + contact.length + 2).sort()).toEqual([...relationship].sort());
    expect(all.mb).toBeGreaterThan(0.3); // the 3,000 golden records' heap and indexes

    // A budget of half of that: what fits is read, the rest is listed as skipped, nothing is read twice.
    const half = await warmRelations(em, tables, { budgetMb: all.mb / 2 });
    expect(half.mb).toBeLessThanOrEqual(all.mb / 2);
    expect(half.warmed.length).toBeGreaterThan(0);
    expect(half.skipped.length).toBeGreaterThan(0);
    expect([...half.warmed.map((w) => w.relation), ...half.skipped.map((s) => s.relation)].sort()).toEqual(
      [...names].sort(),
    );
  });

  it('runs as `npm run hub -- warm` over the serving tables', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'hub', '--', 'warm'], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' },
    });
    const warmed = /warmed (\d+) relations, \d+ MB of a (\d+) MB budget/.exec(stdout);
    expect(warmed, stdout).not.toBeNull();
    // The default budget is the server's effective_cache_size (4 GB unless configured).
    const [budget] = await orm.em
      .fork()
      .execute<{ mb: string }[]>(
        `select (setting::bigint * 8192 / 1048576)::text as mb from pg_settings where name = 'effective_cache_size'`,
      );
    expect(Number(warmed?.[2])).toBe(Number(budget?.mb));
    expect(Number(warmed?.[1])).toBeGreaterThan(servingTables.length);
  });
});
