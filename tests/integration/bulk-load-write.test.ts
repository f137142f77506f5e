import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { bulkLoad } from '../../src/ingest/bulk-load.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { openOrm, migrate } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The bulk load's writes on an empty store drop the written tables' secondary indexes and foreign keys for COPY
 * and build them again afterwards, in the load's transaction (src/db/bulk-indexes.ts, src/sync/bulk-write.ts):
 * after a load the schema is exactly what it was (same index and constraint definitions), and a load that fails
 * after the drop — here in its follow-up, the last step before commit — leaves the store empty with every index
 * and foreign key in place.
 */
describe('bulk load writes: secondary indexes and foreign keys dropped and restored', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dbs.push(await createTestDatabase('hub_bulk_write_ok'), await createTestDatabase('hub_bulk_write_fail'));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });
  const traffic = generateTraffic({ seed: 47, clients: 120, policies: 150 });
  const router = new TopicRouter(connectors);

  const schema = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const indexes = await c.query<{ d: string }>(
        `select indexdef as d from pg_indexes where schemaname = current_schema() order by indexname`,
      );
      const constraints = await c.query<{ d: string }>(
        `select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) as d from pg_constraint
          where connamespace = current_schema()::regnamespace order by 1`,
      );
      const counts = await c.query<{ parties: string; records: string; keys: string }>(
        `select (select count(*) from party) as parties, (select count(*) from source_record) as records,
                (select count(*) from match_key) as keys`,
      );
      return {
        indexes: indexes.rows.map((r) => r.d),
        constraints: constraints.rows.map((r) => r.d),
        counts: counts.rows[0],
      };
    } finally {
      await c.end();
    }
  };

  it('restores every index and foreign key after a load', async () => {
    const [db] = dbs as [TestDatabase];
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      const before = await schema(db.url);
      expect(before.indexes.some((d) => d.includes('party_name_key_trgm'))).toBe(true);
      const loaded = await bulkLoad(orm, router, 'snapshot', traffic, ingestDepsFor());
      expect(loaded.phases.indexes).toBeGreaterThan(0); // the empty-store path was taken
      const after = await schema(db.url);
      expect(after.indexes).toEqual(before.indexes);
      expect(after.constraints).toEqual(before.constraints);
      expect(Number(after.counts?.records)).toBe(loaded.records + loaded.tombstones);
      expect(Number(after.counts?.keys)).toBeGreaterThan(loaded.records);
    } finally {
      await orm.close(true);
    }
  });

  it('rolls back everything, the drop included, when the load fails between the drop and the restore', async () => {
    const [, db] = dbs as [TestDatabase, TestDatabase];
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      const before = await schema(db.url);
      // A failure in the middle of the COPYs (contact points: after party, source_record and match_key are
      // written, while their indexes and foreign keys are dropped): a trigger that refuses every row.
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query(`create function refuse_row() returns trigger language plpgsql as $$
          begin raise exception 'failure injected mid-load'; end $$`);
        await admin.query(
          `create trigger refuse_contact before insert on contact_point for each row execute function refuse_row()`,
        );
        await expect(bulkLoad(orm, router, 'snapshot', traffic, ingestDepsFor())).rejects.toThrow(
          /failure injected mid-load/,
        );
        await admin.query(`drop trigger refuse_contact on contact_point`);
        await admin.query(`drop function refuse_row()`);
      } finally {
        await admin.end();
      }
      const after = await schema(db.url);
      expect(after).toEqual(before);
      expect(after.counts).toEqual({ parties: '0', records: '0', keys: '0' });
      // And a load afterwards works on the intact schema.
      const loaded = await bulkLoad(orm, router, 'snapshot', traffic, ingestDepsFor());
      expect(loaded.records).toBeGreaterThan(100);
      expect((await schema(db.url)).indexes).toEqual(before.indexes);
    } finally {
      await orm.close(true);
    }
  });
});
