import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * App events carry only what changed (contract §7): a user registers with a mobile, then a PROFILE_UPDATED
 * (name, email, `mobile: null`) and a REAL_NAME_VERIFIED (name, id number) arrive. The user's record is the fold
 * of the events, so the mobile stays and the customer is found by it — in whatever order the events arrive. Two
 * hubs on two topics and databases get the same events, one in order and one in reverse order; the customers
 * must end identical, and lineage names the event behind each value.
 *
 * U1 links by the verified id number to a core-policy client who has no mobile: only the app's folded record
 * can give the customer the mobile. U2 is an app user only. U1's events are published one at a time (each in
 * its own transaction: a late event folds into the stored record), U2's together (folded within one batch).
 */
const appTopic = 'app.customer-events.v1';
const wangId = residentId('110105', '19850307', '123');
const linaId = residentId('310104', '19900101', '222');
const app = (e: Record<string, unknown>) => ({
  topic: appTopic,
  key: e.userId as string,
  value: JSON.stringify({ consent: null, ...e }),
});
const u1 = [
  app({
    eventId: 'W1',
    type: 'REGISTERED',
    at: '2026-11-02T12:00:00+08:00',
    userId: 'U1',
    mobile: '13800138000',
    email: 'old@example.cn',
  }),
  app({
    eventId: 'W2',
    type: 'PROFILE_UPDATED',
    at: '2026-11-03T09:00:00+08:00',
    userId: 'U1',
    name: '王小明',
    email: 'wxm@example.cn',
    mobile: null,
  }),
  app({
    eventId: 'W3',
    type: 'REAL_NAME_VERIFIED',
    at: '2026-11-04T10:00:00+08:00',
    userId: 'U1',
    name: '王小明',
    idNumber: wangId,
  }),
];
const u2 = [
  app({
    eventId: 'W4',
    type: 'REGISTERED',
    at: '2026-11-02T08:00:00+08:00',
    userId: 'U2',
    mobile: '+86 137 0013 7000',
  }),
  app({
    eventId: 'W5',
    type: 'PROFILE_UPDATED',
    at: '2026-11-02T09:00:00+08:00',
    userId: 'U2',
    name: '李娜',
    email: 'lina@example.cn',
    mobile: null,
  }),
  app({
    eventId: 'W6',
    type: 'REAL_NAME_VERIFIED',
    at: '2026-11-02T10:00:00+08:00',
    userId: 'U2',
    name: '李娜',
    idNumber: linaId,
  }),
];
const wangClient = coreEvent('client', 'r', {
  CLNTNUM: 'C0000001',
  CLTTYPE: 'P',
  SURNAME: '王',
  GIVNAME: '小明',
  CLTSEX: 'M',
  CLTDOB: 19850307,
  IDTYPE: '01',
  IDNO: wangId,
  MOBILE: null,
  DTEUPD: dteupd('2026-11-01T00:00:00Z'),
});

const ref = 'system sourceId sourceTime event { eventId sourceVersion sourceTime }';
const customer360 = `query ($system: String!, $sourceId: String!) { customerBySource(system: $system, sourceId: $sourceId) {
  id status kind displayName familyName givenName birthDate sex
  identifiers { type value valid issues source { ${ref} } }
  contactPoints { kind value valid validFrom source { ${ref} } }
  lineage { attribute source { ${ref} } }
  sourceRecords { system sourceId sourceVersion sourceTime deleted raw }
} }`;
const byPhone = `query ($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node { id displayName } } } }`;

type Ref = { system: string; sourceId: string; event: { eventId: string } | null };
type Customer = {
  id: string;
  displayName: string;
  contactPoints: { kind: string; value: string; source: Ref }[];
  identifiers: { type: string; value: string; source: Ref }[];
  lineage: { attribute: string; source: Ref }[];
};

describe('app events fold into the user record', () => {
  let brokers: string[];
  const hubs: { db: TestDatabase; hub: RunningHub; prefix: string }[] = [];

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    for (const name of ['hub_fold_in_order', 'hub_fold_reversed']) {
      const prefix = `f${randomBytes(3).toString('hex')}.`;
      const db = await createTestDatabase(name);
      await ensureTopics(createKafka(brokers, 'test'), [prefix + appTopic, prefix + corePolicyTopics.client]);
      const hub = await startTestHub({
        DATABASE_URL: db.url,
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
      });
      hubs.push({ db, hub, prefix });
    }
  });
  afterAll(async () => {
    for (const { hub, db } of hubs) {
      await hub.stop();
      await db.drop();
    }
  });

  /** The customer 360 without what differs between two stores by construction (ids, versions, history). */
  async function view(hub: RunningHub, system: string, sourceId: string): Promise<Customer & Record<string, unknown>> {
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const res = await gql(hub.url, steward, customer360, { system, sourceId });
    expect(res.errors).toBeUndefined();
    const c = res.data.customerBySource;
    const key = (a: { kind?: string; type?: string; value: string; source: Ref }) =>
      `${a.kind ?? a.type}|${a.value}|${a.source.system}`;
    const byKey = (a: Parameters<typeof key>[0], b: Parameters<typeof key>[0]) => (key(a) < key(b) ? -1 : 1);
    c.contactPoints.sort(byKey);
    c.identifiers.sort(byKey);
    return c;
  }
  const comparable = ({ id: _id, ...rest }: Customer & Record<string, unknown>) => rest;

  it('keeps the registered mobile through a profile update and a verification, in either order, and finds the customer by it', async () => {
    const [inOrder, reversed] = hubs as [(typeof hubs)[0], (typeof hubs)[0]];
    for (const h of hubs) await publishAndWait(brokers, h.prefix, h.db.url, [wangClient]);
    for (const e of u1) await publishAndWait(brokers, inOrder.prefix, inOrder.db.url, [e]);
    for (const e of u1.toReversed()) await publishAndWait(brokers, reversed.prefix, reversed.db.url, [e]);
    await publishAndWait(brokers, inOrder.prefix, inOrder.db.url, u2.toReversed());
    await publishAndWait(brokers, reversed.prefix, reversed.db.url, u2);
    // A redelivered event and a late repeat change nothing.
    await publishAndWait(brokers, reversed.prefix, reversed.db.url, [u1[1], u1[0]] as typeof u1);

    for (const h of hubs) {
      const wang = await view(h.hub, 'core-policy', 'C0000001');
      // The verified id number linked the app user to the core client, and the app's mobile is the customer's.
      expect((await view(h.hub, 'web-app', 'U1')).id).toBe(wang.id);
      expect(wang.contactPoints.map((c) => [c.kind, c.value, c.source.system, c.source.event?.eventId])).toEqual([
        ['EMAIL', 'wxm@example.cn', 'web-app', 'W2'],
        ['MOBILE', '+86 138 0013 8000', 'web-app', 'W1'],
      ]);
      expect(wang.identifiers.map((i) => [i.source.system, i.source.event?.eventId ?? null])).toEqual([
        ['core-policy', null],
        ['web-app', 'W3'],
      ]);
      const steward = await tokenFor(h.hub, 'DATA_STEWARD');
      const found = await gql(h.hub.url, steward, byPhone, { phone: '138 0013 8000' });
      expect(found.data?.searchCustomers.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([wang.id]);

      const lina = await view(h.hub, 'web-app', 'U2');
      expect(lina.displayName).toBe('李娜');
      expect(lina.contactPoints.map((c) => [c.kind, c.value, c.source.event?.eventId])).toEqual([
        ['EMAIL', 'lina@example.cn', 'W5'],
        ['MOBILE', '+86 137 0013 7000', 'W4'],
      ]);
      // Lineage names the event that gave each golden value (the name: the verification, the latest to carry it).
      expect(Object.fromEntries(lina.lineage.map((l) => [l.attribute, l.source.event?.eventId]))).toMatchObject({
        displayName: 'W6',
        familyName: 'W6',
        givenName: 'W6',
        kind: 'W6',
      });
      const foundLina = await gql(h.hub.url, steward, byPhone, { phone: '13700137000' });
      expect(foundLina.data?.searchCustomers.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([lina.id]);
    }

    // Identical in both orders.
    for (const [system, sourceId] of [
      ['core-policy', 'C0000001'],
      ['web-app', 'U2'],
    ] as const)
      expect(comparable(await view(reversed.hub, system, sourceId))).toEqual(
        comparable(await view(inOrder.hub, system, sourceId)),
      );
    // Down to the stored fold of each app record.
    const folds = async (url: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (
          await c.query(
            `select source_id, source_version::text, attributes, attribute_versions from source_record where system = 'web-app' order by 1`,
          )
        ).rows;
      } finally {
        await c.end();
      }
    };
    expect(await folds(reversed.db.url)).toEqual(await folds(inOrder.db.url));

    // A channel app sees the phone masked; the event id is not personal data and shows.
    const channel = await tokenFor(inOrder.hub, 'CHANNEL_APP');
    const masked = await gql(inOrder.hub.url, channel, customer360, { system: 'web-app', sourceId: 'U2' });
    const mobile = masked.data?.customerBySource.contactPoints.find((c: { kind: string }) => c.kind === 'MOBILE');
    expect(mobile.value).not.toContain('0013 7000');
    expect(mobile.value).toMatch(/\*/);
    expect(mobile.source.event.eventId).toBe('W4');
    expect(masked.data?.customerBySource.sourceRecords.every((r: { raw: unknown }) => r.raw === null)).toBe(true);
  });
});
