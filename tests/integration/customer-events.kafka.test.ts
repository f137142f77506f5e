import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createKafka, ensureTopics, type Consumer } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { eventually, gql } from '../support/graphql.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * A downstream system follows the golden records through hub.customers.v1 alone: it consumes the events from
 * the real broker, keeps its own map of golden ids (merged ids → survivor, status, version) and ends with the
 * hub's view in GraphQL after records arrive, one links to another's golden record, a steward merges two
 * customers and splits a record out again, and a source changes a name. No event carries a personal value.
 */
const at = (iso: string) => dteupd(iso);
const client = (no: string, over: Record<string, string | number | null>) =>
  coreEvent('client', 'u', {
    CLNTNUM: no,
    CLTTYPE: 'P',
    SURNAME: '钱',
    GIVNAME: '思远',
    CLTSEX: 'M',
    CLTDOB: 19790707,
    IDTYPE: '01',
    IDNO: null,
    MOBILE: null,
    PHONE: null,
    EMAIL: null,
    ADDR1: null,
    ADDR2: null,
    ADDR3: null,
    POSTCODE: null,
    OCCPCODE: null,
    DTEUPD: at('2026-11-01T00:00:00Z'),
    ...over,
  });
const personal = {
  id1: residentId('330105', '19790707', '015'),
  id2: residentId('110101', '19850315', '026'),
  id3: residentId('440103', '19920101', '037'),
  mobile1: '13611110001',
  mobile2: '13611110002',
  mobile3: '13611110003',
};
const first = [
  client('E0000001', { IDNO: personal.id1, MOBILE: personal.mobile1 }),
  client('E0000002', {
    SURNAME: '孙',
    GIVNAME: '丽',
    CLTSEX: 'F',
    CLTDOB: 19850315,
    IDNO: personal.id2,
    MOBILE: personal.mobile2,
    // newer than the first customer's record: its name wins while the two are merged, so the survivor gets a
    // version on the merge (UPDATED naming the merged id) and on the split (SPLIT naming the new id)
    DTEUPD: at('2026-11-01T01:00:00Z'),
  }),
  client('E0000003', {
    SURNAME: '郭',
    GIVNAME: '涛',
    CLTDOB: 19920101,
    IDNO: personal.id3,
    MOBILE: personal.mobile3,
  }),
  // the first customer registers in the app with the mobile the core system holds: links to them
  {
    topic: 'app.customer-events.v1',
    key: 'EU1',
    value: JSON.stringify({
      eventId: 'EV-EU1',
      type: 'REGISTERED',
      at: '2026-11-02T09:00:00+08:00',
      userId: 'EU1',
      mobile: personal.mobile1,
      email: null,
      name: '钱思远',
      idNumber: null,
    }),
  },
];

type Known = { status: string; version: number; survivorId: string | null };

/** What a downstream system keeps: every golden id it heard of, its status, version and (if merged) survivor. */
class GoldenIdMap {
  readonly ids = new Map<string, Known>();
  readonly versionsSeen = new Map<string, number[]>();
  apply(e: any): void {
    this.versionsSeen.set(e.customerId, [...(this.versionsSeen.get(e.customerId) ?? []), e.version]);
    const known = this.ids.get(e.customerId);
    if (known && known.version >= e.version) return; // a redelivery or an older event: nothing new
    this.ids.set(e.customerId, {
      status: e.status,
      version: e.version,
      survivorId: e.type === 'MERGED' ? e.survivorId : null,
    });
  }
  /** Follows merged ids to the golden record they resolve to now. */
  resolve(id: string): string {
    let current = id;
    for (let hops = 0; hops < 20; hops += 1) {
      const next = this.ids.get(current)?.survivorId;
      if (!next) return current;
      current = next;
    }
    throw new Error(`merge chain from ${id} does not end`);
  }
  active(): string[] {
    return [...this.ids].filter(([, k]) => k.status === 'ACTIVE').map(([id]) => id);
  }
}

describe('golden-record change events on hub.customers.v1', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  let consumer: Consumer;
  const events: any[] = [];
  const keys: (string | null)[] = [];
  const prefix = `ce${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test-producer'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    consumer = createKafka(brokers, 'test-downstream').consumer({ groupId: `downstream-${prefix}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}hub.customers.v1`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        keys.push(message.key?.toString() ?? null);
        events.push(JSON.parse(message.value?.toString() ?? '{}'));
      },
    });
  }, 120_000);
  afterAll(async () => {
    await consumer?.disconnect();
    await hub?.stop();
    await db?.drop();
  });

  it('lets a consumer follow creations, links, a merge, a split and an update to the hub’s view', async () => {
    await publishAndWait(brokers, prefix, db.url, first);
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const bySource = async (sourceId: string) =>
      (
        await gql(
          hub.url,
          steward,
          `query($s: String!) { customerBySource(system: "core-policy", sourceId: $s) { id version status } }`,
          { s: sourceId },
        )
      ).data.customerBySource as { id: string; version: number; status: string };
    const a = await bySource('E0000001');
    const b = await bySource('E0000002');
    const c = await bySource('E0000003');
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);

    // A steward merges the second customer into the first, then splits that record out again.
    const merged = await gql(
      hub.url,
      steward,
      `mutation($s: ID!, $m: ID!) { mergeCustomers(survivorId: $s, mergedId: $m, reason: "same person per branch") { __typename ... on Customer { id } } }`,
      { s: a.id, m: b.id },
    );
    expect(merged.data.mergeCustomers).toEqual({ __typename: 'Customer', id: a.id });
    const split = await gql(
      hub.url,
      steward,
      `mutation { splitSourceRecord(system: "core-policy", sourceId: "E0000002", reason: "two people after all") { __typename ... on Customer { id } } }`,
    );
    expect(split.data.splitSourceRecord.__typename).toBe('Customer');
    const splitId = split.data.splitSourceRecord.id as string;
    // The source then renames the split-out customer.
    await publishAndWait(brokers, prefix, db.url, [
      client('E0000002', {
        SURNAME: '孙',
        GIVNAME: '丽华',
        CLTSEX: 'F',
        CLTDOB: 19850315,
        IDNO: personal.id2,
        MOBILE: personal.mobile2,
        DTEUPD: at('2026-11-05T00:00:00Z'),
      }),
    ]);

    // The hub's versions, as GraphQL shows them; the consumer is done when it has heard of all of them.
    const c2 = await bySource('E0000002');
    expect(c2.id).toBe(splitId);
    const expectedLast = new Map([
      [a.id, (await bySource('E0000001')).version],
      [splitId, c2.version],
      [c.id, c.version],
    ]);
    const view = await eventually(
      async () => {
        const m = new GoldenIdMap();
        for (const e of events) m.apply(e);
        return [...expectedLast].every(([id, v]) => m.ids.get(id)?.version === v) && m.ids.get(b.id) ? m : undefined;
      },
      30_000,
      'the change events of every customer',
    );

    // Keyed by golden id, one event per version, in version order per customer.
    expect(keys).toEqual(events.map((e) => e.customerId));
    for (const [id, versions] of view.versionsSeen) {
      const distinct = [...new Set(versions)];
      expect(distinct, `versions of ${id}`).toEqual([...distinct].sort((x, y) => x - y));
    }
    const typesOf = (id: string) => events.filter((e) => e.customerId === id).map((e) => e.type);
    expect(typesOf(a.id)[0]).toBe('CREATED');
    expect(typesOf(b.id)).toEqual(['CREATED', 'MERGED']);
    expect(events.find((e) => e.customerId === b.id && e.type === 'MERGED').survivorId).toBe(a.id);
    expect(events.find((e) => e.customerId === a.id && e.mergedIds)?.mergedIds).toEqual([b.id]);
    expect(events.find((e) => e.customerId === a.id && e.type === 'SPLIT')?.splitInto).toEqual([splitId]);
    expect(events.find((e) => e.customerId === splitId && e.type === 'CREATED')?.splitFrom).toBe(a.id);
    const renamed = events.filter((e) => e.customerId === splitId).at(-1);
    expect(renamed).toMatchObject({ type: 'UPDATED', cause: 'SOURCE_CHANGE', version: c2.version });
    expect(renamed.changedAttributes).toEqual(expect.arrayContaining(['displayName', 'givenName']));

    // The consumer's view is the hub's: every id it knows resolves as `customer(id)` does, with the same
    // status and version, and its active ids are exactly the golden records the source records belong to.
    for (const id of view.ids.keys()) {
      const res = await gql(hub.url, steward, `query($id: ID!) { customer(id: $id) { id status version } }`, { id });
      const hubView = res.data.customer;
      const mine = view.resolve(id);
      expect(hubView.id, `customer(${id})`).toBe(mine);
      expect(hubView.status).toBe(view.ids.get(mine)?.status);
      expect(hubView.version).toBe(view.ids.get(mine)?.version);
    }
    const pgc = new pg.Client({ connectionString: db.url });
    await pgc.connect();
    try {
      const { rows } = await pgc.query<{ party_id: string }>(
        `select distinct party_id::text from source_record where not deleted`,
      );
      expect(view.active().sort()).toEqual(rows.map((r) => r.party_id).sort());
    } finally {
      await pgc.end();
    }

    // No personal value in any event.
    const text = JSON.stringify(events);
    for (const value of [...Object.values(personal), '钱', '思远', '孙', '丽华', '郭'])
      expect(text.includes(value), value).toBe(false);
  });
});
