import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { bulkLoad, StoreNotEmptyError } from '../../src/ingest/bulk-load.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { openOrm, migrate } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { resolvePass } from '../../src/sync/resolve.ts';
import { recomputeParties } from '../../src/sync/survivorship.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';

/**
 * The bulk initial load (src/ingest/bulk-load.ts) promises the state the streaming path reaches for the same
 * messages: same traffic (every topic, customers repeated across systems with variations, changes, deletes, app
 * events folded per attribute, a message that cannot be mapped) once through the bulk load, once through the
 * streaming apply step in batches of 500 followed by the resolution pass (which makes streaming's partition
 * independent of arrival order). The stores must be equal; the bulk load's partition must already be the one the
 * resolution pass computes (a pass over it moves nothing); and streaming the same input afterwards hands over at
 * the stored positions (everything skipped, nothing changed).
 */
describe('bulk initial load', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dbs.push(await createTestDatabase('hub_bulk_load'), await createTestDatabase('hub_bulk_streamed'));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  const traffic = [
    ...generateTraffic({ seed: 31, clients: 350, policies: 450 }),
    { topic: 'billing.payments.v1', key: 'bad', value: '{"not": "a payment"' },
  ];
  const router = new TopicRouter(connectors);

  const withOrm = async <T>(db: TestDatabase, work: (orm: Awaited<ReturnType<typeof openOrm>>) => Promise<T>) => {
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      return await work(orm);
    } finally {
      await orm.close(true);
    }
  };

  it('reaches the state streaming reaches, with the resolution pass already satisfied, and hands over', async () => {
    const [bulkDb, streamedDb] = dbs as [TestDatabase, TestDatabase];
    const loaded = await withOrm(bulkDb, (orm) => bulkLoad(orm, router, 'snapshot', traffic, ingestDepsFor()));
    expect(loaded.messages).toBe(traffic.length);
    expect(loaded.quarantined).toBe(1);
    expect(loaded.records).toBeGreaterThan(500);
    expect(loaded.parties).toBeGreaterThan(100);
    expect(loaded.parties).toBeLessThan(loaded.records);
    expect(loaded.tombstones).toBeGreaterThan(0);
    expect(loaded.facts).toBeGreaterThan(1_000);
    expect(loaded.rows.source_record).toBe(loaded.records);

    // The resolution pass finds nothing to repair in what the bulk load decided.
    const pass = await withOrm(bulkDb, async (orm) => {
      const deps = ingestDepsFor('', 'settle');
      return resolvePass(orm, deps.matcher, (em, changed) => deps.followUp.run(em, changed), { full: true });
    });
    expect(pass.records).toBeGreaterThan(0);
    expect({ moved: pass.moved, merged: pass.merged, created: pass.created }).toEqual({
      moved: 0,
      merged: 0,
      created: 0,
    });

    // The customer programme is left out of the streaming side (it derives per transaction in this mode, which
    // made it ten times slower); it writes nothing the fingerprint compares.
    await withOrm(streamedDb, (orm) =>
      ingestBatch(orm, router, 'snapshot', traffic, ingestDepsFor('', 'settle', false)),
    );
    await converge(streamedDb.url);
    const bulk = await storeFingerprint(bulkDb.url);
    const streamed = await storeFingerprint(streamedDb.url);
    for (const table of Object.keys(streamed))
      expect({ table, rows: bulk[table] }).toEqual({ table, rows: streamed[table] });

    // Every golden record has its values, lineage and first history row; alerts were evaluated for them.
    const c = new pg.Client({ connectionString: bulkDb.url });
    await c.connect();
    try {
      const { rows } = await c.query(
        `select count(*)::int as parties, count(*) filter (where lineage = '{}'::jsonb)::int as without_lineage,
                count(*) filter (where not exists (select 1 from party_history h where h.party_id = p.id and h.cause = 'CREATED'))::int as without_history
           from party p where status = 'ACTIVE'`,
      );
      expect(rows[0]).toEqual({ parties: loaded.parties, without_lineage: 0, without_history: 0 });
      // Written whole, as inserting each golden record and recomputing it would leave it: its first version, one
      // history row and one CREATED event each — and recomputing them now (streaming's survivorship) changes nothing.
      const created = await c.query(
        `select (select count(*)::int from party where version = 2) as second_versions,
                (select count(*)::int from party_history where version = 2 and cause = 'CREATED') as histories,
                (select count(*)::int from party_history) as all_histories,
                (select count(*)::int from outbox where payload->>'type' = 'CREATED') as events`,
      );
      expect(created.rows[0]).toEqual({
        second_versions: loaded.parties,
        histories: loaded.parties,
        all_histories: loaded.parties,
        events: loaded.parties,
      });
      const parties = `select id, kind, status, display_name, family_name, given_name, name_key, birth_date::text, sex,
                              occupation_code, lineage, version from party order by id`;
      const stored = (await c.query(parties)).rows;
      const again = await withOrm(bulkDb, (orm) =>
        orm.em
          .fork()
          .transactional((em) =>
            recomputeParties(
              em,
              new Map(stored.map((p: { id: string }) => [p.id, { cause: 'SOURCE_CHANGE' as const, detail: {} }])),
            ),
          ),
      );
      expect(again.size).toBe(0);
      expect((await c.query(parties)).rows).toEqual(stored);
    } finally {
      await c.end();
    }

    // Hand-over: the same input through the streaming path afterwards is skipped message by message.
    const before = await storeFingerprint(bulkDb.url);
    const again = await withOrm(bulkDb, (orm) =>
      ingestBatch(orm, router, 'snapshot', traffic, ingestDepsFor('', 'settle', false)),
    );
    expect(again.skipped).toBe(traffic.length);
    expect(again.applied).toBe(0);
    expect(await storeFingerprint(bulkDb.url)).toEqual(before);
  }, 240_000);

  it('refuses a store that already holds source records, and leaves it as it was', async () => {
    const [bulkDb] = dbs as [TestDatabase];
    const before = await storeFingerprint(bulkDb.url);
    await expect(
      withOrm(bulkDb, (orm) => bulkLoad(orm, router, 'second', traffic.slice(0, 50), ingestDepsFor())),
    ).rejects.toBeInstanceOf(StoreNotEmptyError);
    expect(await storeFingerprint(bulkDb.url)).toEqual(before);
  });
});
