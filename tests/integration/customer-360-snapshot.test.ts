import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { ingestDepsFor, type RunningHub } from '../../src/runtime/hub.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * A customer 360 is one moment of the store. Transactions change a customer's version and contact points
 * together, as an ingest transaction does (a customer's new version and its new contact points commit at once):
 * transaction i sets the version to i and leaves i % 3 + 1 contact points. Every response must show a pair some
 * transaction committed. Two shapes of query: `customer(id:) { version contactPoints }` reads both in one
 * statement (the customer's plan, src/services/customer.service.ts); the same two read under two aliases take
 * two statements (the party loader, then the customer with its contact points), which only the query's
 * snapshot keeps consistent. (Before queries read one snapshot, this failed within a few dozen requests.)
 */
describe('customer 360 reads one snapshot', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: undefined, HUB_SQL_STATEMENTS_HEADER: '1' });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'snapshot',
      [
        coreEvent('client', 'c', {
          CLNTNUM: 'S0000001',
          CLTTYPE: 'P',
          SURNAME: '何',
          GIVNAME: '静',
          CLTSEX: 'F',
          CLTDOB: 19900909,
          IDTYPE: null,
          IDNO: null,
          MOBILE: '13600001111',
          PHONE: null,
          EMAIL: null,
          ADDR1: null,
          POSTCODE: null,
          OCCPCODE: null,
          DTEUPD: dteupd('2026-11-01T00:00:00Z'),
        }),
      ],
      ingestDepsFor(),
    );
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('never mixes the golden record of one commit with the contact points of another', async () => {
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    const {
      rows: [customer],
    } = await writer.query<{ party_id: string; record_id: string }>(
      `select party_id, id as record_id from source_record where source_id = 'S0000001'`,
    );
    expect(customer).toBeDefined();
    const { party_id: partyId, record_id: recordId } = customer as { party_id: string; record_id: string };
    let stop = false;
    let commits = 0;
    const writes = (async () => {
      for (let i = 1000; !stop; i += 1) {
        await writer.query('begin');
        await writer.query(`update party set version = $1 where id = $2`, [i, partyId]);
        await writer.query(`delete from contact_point where party_id = $1`, [partyId]);
        await writer.query(
          `insert into contact_point (id, party_id, source_record_id, kind, value, raw, search_key, valid) select gen_random_uuid(), $1, $2, 'EMAIL', 'x' || n || '@example.cn', null, null, true from generate_series(1, $3::int) n`,
          [partyId, recordId, (i % 3) + 1],
        );
        await writer.query('commit');
        commits += 1;
      }
    })();
    try {
      const token = await tokenFor(hub, 'CHANNEL_APP');
      const seen: { version: number; contactPoints: number }[] = [];
      for (let n = 0; n < 150; n += 1) {
        const r = await gql(
          hub.url,
          token,
          `query($id: ID!) { customer(id: $id) { version contactPoints { kind } } }`,
          { id: partyId },
        );
        expect(r.errors).toBeUndefined();
        seen.push({ version: r.data.customer.version, contactPoints: r.data.customer.contactPoints.length });
        const split = await gql(
          hub.url,
          token,
          `query($id: ID!) { a: customer(id: $id) { version } b: customer(id: $id) { contactPoints { kind } } }`,
          { id: partyId },
        );
        expect(split.errors).toBeUndefined();
        // Two reads (and the snapshot's begin).
        expect(split.sqlStatements).toBeGreaterThanOrEqual(2);
        seen.push({ version: split.data.a.version, contactPoints: split.data.b.contactPoints.length });
      }
      const torn = seen.filter((s) => s.version >= 1000 && s.contactPoints !== (s.version % 3) + 1);
      expect(torn).toEqual([]);
      // Not vacuous: the reads saw many different commits while the writer ran.
      expect(new Set(seen.map((s) => s.version)).size).toBeGreaterThan(20);
      expect(commits).toBeGreaterThan(50);
    } finally {
      stop = true;
      await writes;
      await writer.end();
    }
  }, 120_000);
});
