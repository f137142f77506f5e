import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { openOrm, migrate } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import {
  coreEvent,
  deleteWithTombstone,
  dteupd,
  residentId,
} from '../../src/connectors/core-policy/fixtures/events.ts';
import type { IngestDeps } from '../../src/ingest/apply-batch.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { storeFingerprint } from '../support/fingerprint.ts';

/**
 * The set-based party path (src/sync/apply-parties.ts) decides a batch's records in memory; its promise is the
 * result the one-at-a-time path gives for the same changes in the same order. Same traffic (every live topic,
 * customers repeated across systems with variations, bridging records, changes and deletes) into two stores:
 * once in batches of up to 500 with the set-based path, once with every party change applied alone (a matcher
 * without in-memory matching takes the one-at-a-time path for everything) — the stores must be equal:
 * golden-record grouping, values and lineage winners, links, retired (merged, inactive) golden records and the
 * review queue.
 */
describe('set-based identity resolution', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dbs.push(await createTestDatabase('hub_set_based'), await createTestDatabase('hub_one_by_one'));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  const load = async (db: TestDatabase, deps: IngestDeps) => {
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      return await ingestBatch(
        orm,
        new TopicRouter(connectors),
        'equivalence',
        [...generateTraffic({ seed: 11, clients: 400, policies: 500 }), ...withinOneBatch],
        deps,
      );
    } finally {
      await orm.close();
    }
  };

  // In one batch: a new customer, then its record deleted — its golden record must retire with its values (it
  // is created, then deactivated, in that order); and two customers, then a record bridging them (a merge).
  const client = (no: string, over: Record<string, string | number | null>, at: string) =>
    coreEvent('client', 'c', {
      CLNTNUM: no,
      CLTTYPE: 'P',
      SURNAME: '欧阳',
      GIVNAME: '明远',
      CLTSEX: 'M',
      CLTDOB: 19770707,
      IDTYPE: null,
      IDNO: null,
      MOBILE: null,
      PHONE: null,
      EMAIL: null,
      ADDR1: null,
      POSTCODE: null,
      OCCPCODE: null,
      DTEUPD: dteupd(at),
      ...over,
    });
  const gone = {
    CLNTNUM: 'Z9000001',
    CLTTYPE: 'P',
    SURNAME: '司马',
    GIVNAME: '晓岚',
    CLTSEX: 'F',
    CLTDOB: 19880808,
    IDTYPE: null,
    IDNO: null,
    MOBILE: '13700001111',
    PHONE: null,
    EMAIL: null,
    ADDR1: null,
    POSTCODE: null,
    OCCPCODE: null,
    DTEUPD: dteupd('2026-11-20T00:00:00Z'),
  };
  const appEvent = (e: Record<string, unknown>) => ({
    topic: 'app.customer-events.v1',
    key: 'APP-Z1',
    value: JSON.stringify({ userId: 'APP-Z1', consent: null, ...e }),
  });
  const appEvents = [
    appEvent({ eventId: 'Z-W1', type: 'REGISTERED', at: '2026-11-20T00:02:10Z', mobile: '13700002223' }),
    appEvent({
      eventId: 'Z-W2',
      type: 'PROFILE_UPDATED',
      at: '2026-11-20T00:02:20Z',
      name: '欧阳明远',
      email: 'oy@example.cn',
      mobile: null,
    }),
    appEvent({
      eventId: 'Z-W3',
      type: 'REAL_NAME_VERIFIED',
      at: '2026-11-20T00:02:30Z',
      name: '欧阳明远',
      idNumber: residentId('110101', '19770707', '031'),
    }),
  ];
  const withinOneBatch = [
    coreEvent('client', 'c', gone),
    ...deleteWithTombstone('client', { ...gone, DTEUPD: dteupd('2026-11-20T00:01:00Z') }),
    client(
      'Z9000002',
      { IDTYPE: '01', IDNO: residentId('110101', '19770707', '031'), MOBILE: '13700002222' },
      '2026-11-20T00:02:00Z',
    ),
    client('Z9000003', { CLTDOB: 19770708, EMAIL: 'oymy@example.cn' }, '2026-11-20T00:03:00Z'),
    // App events (folded, not replacing: src/sync/fold-events.ts), newest first: the verification links the
    // app user to Z9000002 by id, and the late profile update and registration fold in behind it.
    ...appEvents.toReversed(),
    client(
      'Z9000004',
      { IDTYPE: '01', IDNO: residentId('110101', '19770707', '031'), CLTDOB: 19770708, EMAIL: 'oymy@example.cn' },
      '2026-11-20T00:04:00Z',
    ),
  ];

  const identityDetails = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const anchor = `(select min(s2.system || '/' || s2.source_id) from source_record s2 where s2.party_id = rt.candidate_party_id and not s2.deleted)`;
      const { rows } = await c.query(
        `select sr.system || '/' || sr.source_id as record, ${anchor} as candidate, rt.status, round(rt.probability::numeric, 6)::text as probability
           from review_task rt join source_record sr on sr.id = rt.source_record_id order by 1, 2, 3`,
      );
      const {
        rows: [stats],
      } = await c.query(
        `select count(*) filter (where status = 'MERGED')::int as merged, count(*) filter (where status = 'INACTIVE')::int as inactive, count(*)::int as parties from party`,
      );
      // How each live record is linked, and which record's value each golden attribute took (lineage, without
      // times: a batch's golden record is recomputed once, with the latest source time).
      const { rows: links } = await c.query(
        `select sr.system, sr.source_id, sr.link_type from source_record sr where not sr.deleted order by 1, 2`,
      );
      const { rows: lineage } = await c.query(
        `select ${anchor.replaceAll('rt.candidate_party_id', 'p.id')} as golden, l.key as attribute, l.value->>'system' || '/' || (l.value->>'sourceId') as winner,
                l.value->'event'->>'eventId' as event
           from party p cross join jsonb_each(p.lineage) l where p.status = 'ACTIVE' order by 1, 2`,
      );
      // Folded records (sources that send changes only): their per-attribute state and the attributes it gives.
      const { rows: folds } = await c.query(
        `select system, source_id, attributes, attribute_versions from source_record where attribute_versions is not null order by 1, 2`,
      );
      // Golden records left without live records keep their last values (and were versioned as such).
      const { rows: retired } = await c.query(
        `select status, display_name, birth_date::text, lineage = '{}'::jsonb as blank from party where status <> 'ACTIVE' order by 1, 2 nulls first, 3 nulls first, 4`,
      );
      return {
        rows,
        stats: stats as { merged: number; inactive: number; parties: number },
        links,
        lineage,
        retired,
        folds,
      };
    } finally {
      await c.end();
    }
  };

  it('gives the same store as applying every party change alone', async () => {
    const [setBased, oneByOne] = dbs as [TestDatabase, TestDatabase];
    // Identity is compared; the customer programme's derivation (settled per transaction here, thousands of
    // one-change transactions on the one-at-a-time side) is left out of both — it is tested on its own.
    const setBasedDeps = ingestDepsFor('', 'settle', false);
    const oneByOneDeps = ingestDepsFor('', 'settle', false);
    const a = await load(setBased, setBasedDeps);
    const b = await load(oneByOne, { ...oneByOneDeps, matcher: { ...oneByOneDeps.matcher, batch: undefined } });
    expect(a.applied).toBe(b.applied);
    expect(a.stale).toBe(b.stale);
    expect(a.quarantined).toBe(0);

    const fa = await storeFingerprint(setBased.url);
    const fb = await storeFingerprint(oneByOne.url);
    expect(fa.records?.length).toBeGreaterThan(500);
    for (const table of Object.keys(fb)) expect({ table, rows: fa[table] }).toEqual({ table, rows: fb[table] });

    const ra = await identityDetails(setBased.url);
    const rb = await identityDetails(oneByOne.url);
    expect(ra.rows).toEqual(rb.rows);
    expect(ra.stats).toEqual(rb.stats);
    expect(ra.links).toEqual(rb.links);
    expect(ra.lineage).toEqual(rb.lineage);
    expect(ra.retired).toEqual(rb.retired);
    expect(ra.folds).toEqual(rb.folds);
    // The app user kept its registered mobile through the later events, and is linked to the client by its id.
    const z1 = ra.folds.find((f: { source_id: string }) => f.source_id === 'APP-Z1');
    expect(Object.keys(z1.attribute_versions.fields).sort()).toEqual([
      'contact:EMAIL',
      'contact:MOBILE',
      'identifier:RESIDENT_ID',
      'kind',
      'name',
    ]);
    expect(z1.attribute_versions.fields['contact:MOBILE'].eventId).toBe('Z-W1');
    expect(
      (fa.records as { system: string; source_id: string; golden: string }[]).find((r) => r.source_id === 'APP-Z1')
        ?.golden,
    ).toBe('core-policy/Z9000002');
    expect(ra.retired.some((r: { blank: boolean }) => r.blank)).toBe(false);
    // The traffic exercises the cases handed to the one-at-a-time path too (records bridging golden records).
    expect(ra.stats.merged).toBeGreaterThan(0);
  });
});
