import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { openOrm, migrate } from '../../src/db/orm.ts';
import { syncDeps } from '../../src/runtime/hub.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import type { SyncDeps } from '../../src/sync/apply-changes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { storeFingerprint } from '../support/fingerprint.ts';

/**
 * The set-based party path (src/sync/apply-parties.ts) decides a batch's records in memory; its promise is the
 * result the one-at-a-time path gives for the same changes in the same order. Same traffic (every live topic,
 * customers repeated across systems with variations, bridging records, changes and deletes) into two stores:
 * once in batches of up to 500 with the set-based path, once with every party change applied alone (a matcher
 * without in-memory matching) — the stores must be equal, golden-record grouping and review queue included.
 */
describe('set-based identity resolution', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dbs.push(await createTestDatabase('hub_set_based'), await createTestDatabase('hub_one_by_one'));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  const load = async (db: TestDatabase, deps: SyncDeps) => {
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      return await ingestBatch(orm, new TopicRouter(connectors), 'equivalence', generateTraffic({ seed: 11, clients: 400, policies: 500 }), deps);
    } finally {
      await orm.close();
    }
  };

  const reviewQueue = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const anchor = `(select min(s2.system || '/' || s2.source_id) from source_record s2 where s2.party_id = rt.candidate_party_id and not s2.deleted)`;
      const { rows } = await c.query(
        `select sr.system || '/' || sr.source_id as record, ${anchor} as candidate, rt.status, round(rt.probability::numeric, 6)::text as probability
           from review_task rt join source_record sr on sr.id = rt.source_record_id order by 1, 2, 3`,
      );
      const { rows: [stats] } = await c.query(`select count(*) filter (where status = 'MERGED')::int as merged, count(*)::int as parties from party`);
      return { rows, stats: stats as { merged: number; parties: number } };
    } finally {
      await c.end();
    }
  };

  it('gives the same store as applying every party change alone', async () => {
    const [setBased, oneByOne] = dbs as [TestDatabase, TestDatabase];
    const a = await load(setBased, syncDeps);
    const b = await load(oneByOne, { ...syncDeps, matcher: { ...syncDeps.matcher, batch: undefined } });
    expect(a.applied).toBe(b.applied);
    expect(a.stale).toBe(b.stale);
    expect(a.quarantined).toBe(0);

    const fa = await storeFingerprint(setBased.url);
    const fb = await storeFingerprint(oneByOne.url);
    expect(fa.records?.length).toBeGreaterThan(500);
    for (const table of Object.keys(fb)) expect({ table, rows: fa[table] }).toEqual({ table, rows: fb[table] });

    const ra = await reviewQueue(setBased.url);
    const rb = await reviewQueue(oneByOne.url);
    expect(ra.rows).toEqual(rb.rows);
    expect(ra.stats).toEqual(rb.stats);
    // The traffic exercises the cases handed to the one-at-a-time path too (records bridging golden records).
    expect(ra.stats.merged).toBeGreaterThan(0);
  });
});
