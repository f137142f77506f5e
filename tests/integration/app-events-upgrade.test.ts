import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { webAppConnector } from '../../src/connectors/web-app/index.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { migrate, openOrm, type Orm } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * App records stored before events were folded (attribute_versions null) lost what a partial event left out.
 * After the upgrade such a record counts as one snapshot at its version, so re-reading the connector's events
 * (a replay from the beginning) folds the earlier ones back in: the record ends as if it had been folded all
 * along. Simulated on one database: the events applied as whole records (the old behaviour), then again folded.
 */
const app = (e: Record<string, unknown>) => ({
  topic: 'app.customer-events.v1',
  key: 'U1',
  value: JSON.stringify({ userId: 'U1', consent: null, ...e }),
});
const events = [
  app({ eventId: 'W1', type: 'REGISTERED', at: '2026-11-02T12:00:00+08:00', mobile: '13800138000' }),
  app({
    eventId: 'W2',
    type: 'PROFILE_UPDATED',
    at: '2026-11-03T09:00:00+08:00',
    name: '王小明',
    email: 'wxm@example.cn',
  }),
  app({
    eventId: 'W3',
    type: 'REAL_NAME_VERIFIED',
    at: '2026-11-04T10:00:00+08:00',
    name: '王小明',
    idNumber: '110105198503071234',
  }),
];
const asRecords = { ...webAppConnector, manifest: { ...webAppConnector.manifest, messages: 'records' as const } };

describe('app records stored before the fold', () => {
  const dbs: TestDatabase[] = [];
  const orms: Orm[] = [];
  beforeAll(async () => {
    for (const name of ['hub_fold_upgrade', 'hub_fold_fresh']) {
      const db = await createTestDatabase(name);
      const orm = await openOrm(db.url, { poolMax: 2 });
      await migrate(orm);
      dbs.push(db);
      orms.push(orm);
    }
  });
  afterAll(async () => {
    for (const orm of orms) await orm.close();
    for (const db of dbs) await db.drop();
  });

  const record = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query(
        `select sr.source_version::text, sr.attributes, sr.attribute_versions, p.display_name,
                (select array_agg(cp.kind || ' ' || cp.search_key order by cp.kind) from contact_point cp where cp.source_record_id = sr.id) as contacts
           from source_record sr join party p on p.id = sr.party_id where sr.system = 'web-app' and sr.source_id = 'U1'`,
      );
      return rows[0];
    } finally {
      await c.end();
    }
  };

  it('gets back what partial events erased when the events are read again', async () => {
    const [upgraded, fresh] = orms as [Orm, Orm];
    const [upgradedDb, freshDb] = dbs as [TestDatabase, TestDatabase];
    await ingestBatch(upgraded, new TopicRouter([asRecords]), 'before-upgrade', events, ingestDepsFor());
    const before = await record(upgradedDb.url);
    expect(before.contacts).toBeNull(); // the verification replaced the record: mobile and email were gone
    expect(before.attribute_versions).toBeNull();

    const replay = await ingestBatch(upgraded, new TopicRouter([webAppConnector]), 'replay', events, ingestDepsFor());
    // The registration and the profile update bring back what they gave; the verification changes only lineage.
    expect(replay.applied).toBe(3);
    await ingestBatch(fresh, new TopicRouter([webAppConnector]), 'live', events, ingestDepsFor());
    const after = await record(upgradedDb.url);
    expect(after.contacts).toEqual(['EMAIL wxm@example.cn', 'MOBILE 13800138000']);
    expect(after).toEqual(await record(freshDb.url));
  });
});
