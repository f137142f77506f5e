import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Instances of a new deployment start at once on a fresh database, each applying the migrations at start. Found
 * by the soak (soak/soak.ts: two hubs launched together): the second failed with a duplicate key on
 * `pg_extension_name_index` (both ran `create extension if not exists pg_trgm` in their own transaction) and
 * exited. Migrations are serialised between processes by an advisory lock: every instance starts, the
 * migrations are applied once.
 */
describe('migrations applied by several instances at once', () => {
  let db: TestDatabase;
  const orms: MikroORM[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('hub_migrate_race');
    for (let i = 0; i < 4; i += 1) orms.push(await openOrm(db.url, { poolMax: 1 }));
  });
  afterAll(async () => {
    await Promise.all(orms.map((o) => o.close(true)));
    await db?.drop();
  });

  it('all succeed, and each migration is applied once', async () => {
    const results = await Promise.allSettled(orms.map((o) => migrate(o)));
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
    const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ name: string; n: number }>(
        `select name, count(*)::int as n from mikro_orm_migrations group by name order by name`,
      );
      expect(rows.length).toBeGreaterThan(20);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      // Exactly one instance applied them; the others found nothing pending.
      expect(applied.length).toBe(rows.length);
    } finally {
      await c.end();
    }
    expect(await migrate(orms[0] as MikroORM)).toEqual([]);
  });
});
