import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createKafka, ensureTopics, publish, type OutgoingMessage } from '../../src/messaging/kafka.ts';
import { streamingConnectors } from '../../src/connectors/registry.ts';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';
import { shanghaiNoonDaysAgo } from '../support/dates.ts';

/**
 * High-claim alerts on the real broker: a customer whose claims cross a rule's threshold gets exactly one alert
 * per rule, updated (not duplicated) as claims keep coming; an early claim after reinstatement is caught; alert
 * changes reach Kafka through the outbox; rules change at run time; closing with suppression holds.
 */
const id = residentId('320102', '19800101', '555');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const claim = (n: number, over: Record<string, unknown>): OutgoingMessage => ({
  topic: 'claims.public.claim',
  key: JSON.stringify({ claim_id: `AL${n}` }),
  value: JSON.stringify({
    before: null,
    op: 'c',
    source: { ts_ms: Date.now() },
    ts_ms: Date.now(),
    after: {
      claim_id: `AL${n}`,
      claim_no: `CLM-AL${n}`,
      policy_no: 'AP000001',
      claimant_name: '周敏',
      claimant_id_type: '01',
      claimant_id_no: id,
      claimant_phone: '13511112222',
      incident_date: Math.floor((Date.now() - 200 * DAY) / DAY),
      reported_at: (Date.now() - (100 - n) * DAY) * 1000,
      cause_code: 'HOS',
      claimed_amount: '5000.00',
      paid_amount: '4000.00',
      status: 'PAID',
      payee_bank_account: null,
      updated_at: (Date.now() - (100 - n) * DAY) * 1000,
      ...over,
    },
  }),
});

describe('high-claim alerts', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  let underwriter: string;
  const prefix = `a${randomBytes(3).toString('hex')}.`;
  const send = (m: OutgoingMessage[]) =>
    publish(
      createKafka(brokers, 'test-producer'),
      m.map((x) => ({ ...x, topic: prefix + x.topic })),
    );
  const alertsQuery = `{ alerts(first: 50) { edges { node { id rule status level points evidence explanation customer { id } } } } }`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map((t) => prefix + t)),
    );
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    underwriter = await tokenFor(hub, 'UNDERWRITER');
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('raises one alert per rule, updates it as evidence grows, catches an early claim after reinstatement, and publishes changes', async () => {
    await send([
      coreEvent('client', 'r', {
        CLNTNUM: 'A0000001',
        CLTTYPE: 'P',
        SURNAME: '周',
        GIVNAME: '敏',
        CLTSEX: 'F',
        CLTDOB: 19800101,
        IDTYPE: '01',
        IDNO: id,
        MOBILE: '13511112222',
        DTEUPD: dteupd('2026-01-01T00:00:00Z'),
      }),
    ]);
    // Policy in force since 2020, lapsed, reinstated 30 days ago.
    const commenced = 20200101;
    await send([
      coreEvent('policy', 'r', {
        CHDRNUM: 'AP000001',
        CNTTYPE: 'HOS',
        STATCODE: 'RI',
        OCCDATE: commenced,
        SINSTAMT: '50000.00',
        INSTPREM: '1200.00',
        DTEUPD: shanghaiNoonDaysAgo(30) * 1000,
      }),
    ]);
    await send([claim(1, {}), claim(2, {})]);
    await new Promise((r) => setTimeout(r, 2000));
    let r = await gql(hub.url, underwriter, alertsQuery);
    expect(r.data.alerts.edges.filter((e: any) => e.node.rule === 'CLAIMS_IN_WINDOW')).toHaveLength(0);

    await send([claim(3, {})]);
    r = await eventually(
      async () => {
        const x = await gql(hub.url, underwriter, alertsQuery);
        return x.data?.alerts.edges.some((e: any) => e.node.rule === 'CLAIMS_IN_WINDOW') ? x : undefined;
      },
      60_000,
      'the claims-count alert',
    );
    const count = r.data.alerts.edges.filter((e: any) => e.node.rule === 'CLAIMS_IN_WINDOW');
    expect(count).toHaveLength(1);
    expect(count[0].node.evidence.claims).toEqual(['AL1', 'AL2', 'AL3']);
    expect(count[0].node).toMatchObject({ status: 'OPEN', level: 'HIGH', points: 40 });

    // A fourth claim: the same alert grows, no second alert.
    await send([claim(4, {})]);
    const grown = await eventually(
      async () => {
        const x = await gql(hub.url, underwriter, alertsQuery);
        const a = x.data?.alerts.edges.filter((e: any) => e.node.rule === 'CLAIMS_IN_WINDOW') ?? [];
        return a.length === 1 && a[0].node.evidence.claims.length === 4 ? a : undefined;
      },
      60_000,
      'the alert to grow',
    );
    expect(grown[0].node.id).toBe(count[0].node.id);

    // An incident 10 days after the reinstatement: early claim.
    await send([claim(5, { incident_date: Math.floor((Date.now() - 20 * DAY) / DAY) })]);
    const early = await eventually(
      async () => {
        const x = await gql(hub.url, underwriter, alertsQuery);
        return x.data?.alerts.edges.find((e: any) => e.node.rule === 'EARLY_CLAIM')?.node;
      },
      60_000,
      'the early-claim alert',
    );
    expect(early.evidence.early).toEqual([
      expect.objectContaining({ claim: 'AL5', policy: 'AP000001', basis: 'REINSTATEMENT', days: 10 }),
    ]);

    // The customer 360 shows the alerts as risk flags; a channel app sees only that they exist and how serious.
    const flags = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "A0000001") { riskFlags { kind level reason alert { id } } } }`,
    );
    expect(flags.data.customerBySource.riskFlags.filter((f: any) => f.kind === 'ALERT')).toEqual(
      expect.arrayContaining([{ kind: 'ALERT', level: 'HIGH', reason: null, alert: null }]),
    );

    // Alert changes were published to Kafka through the outbox.
    const consumer = createKafka(brokers, 'test-alerts').consumer({ groupId: `alerts-${prefix}` });
    const events: any[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}hub.risk-alerts.v1`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void events.push(JSON.parse(message.value?.toString() ?? '{}')),
    });
    await eventually(
      async () => (events.some((e) => e.rule === 'EARLY_CLAIM') ? true : undefined),
      30_000,
      'alert events on Kafka',
    );
    await consumer.disconnect();
    // opened at the third claim, updated by the fourth and by the fifth (also inside the window)
    expect(events.filter((e) => e.rule === 'CLAIMS_IN_WINDOW').map((e) => e.event)).toEqual([
      'ALERT_OPENED',
      'ALERT_UPDATED',
      'ALERT_UPDATED',
    ]);

    // Close with a suppression window: more claims do not reopen it.
    const closed = await gql(
      hub.url,
      underwriter,
      `mutation($id: ID!) { closeAlert(id: $id, reason: "known chronic condition, reviewed", suppressDays: 90) { __typename ... on Alert { status closedReason suppressedUntil } } }`,
      { id: count[0].node.id },
    );
    expect(closed.data.closeAlert).toMatchObject({ __typename: 'Alert', status: 'CLOSED' });
    // 90 days is over what one person may set (30): suppressed for 30 days until a second risk admin approves.
    const until = (iso: string) => Math.round((Date.parse(iso) - Date.now()) / 86_400_000);
    expect(until(closed.data.closeAlert.suppressedUntil)).toBe(30);
    const approve = `mutation($id: ID!) { approveAlertSuppression(id: $id) { __typename ... on Alert { suppressedUntil suppressionProposedDays } ... on ErrorResult { errorCode } } }`;
    expect((await gql(hub.url, underwriter, approve, { id: count[0].node.id })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const approved = await gql(hub.url, await tokenFor(hub, 'RISK_ADMIN'), approve, { id: count[0].node.id });
    expect(approved.data.approveAlertSuppression.suppressionProposedDays).toBeNull();
    expect(until(approved.data.approveAlertSuppression.suppressedUntil)).toBe(90);
    for (const days of [0, -5, 100_000]) {
      const bad = await gql(
        hub.url,
        underwriter,
        `mutation($id: ID!) { closeAlert(id: $id, reason: "x", suppressDays: ${days}) { __typename ... on ErrorResult { errorCode } } }`,
        { id: count[0].node.id },
      );
      expect(bad.data.closeAlert, String(days)).toMatchObject({ errorCode: 'BAD_USER_INPUT' });
    }
    await send([claim(6, {})]);
    await new Promise((r) => setTimeout(r, 2000));
    const after = await gql(hub.url, underwriter, alertsQuery);
    expect(
      after.data.alerts.edges.filter((e: any) => e.node.rule === 'CLAIMS_IN_WINDOW' && e.node.status !== 'CLOSED'),
    ).toHaveLength(0);
  });

  it('changes rules at run time for risk admins only, versioned', async () => {
    const change = `mutation { updateAlertRule(code: "CLAIMS_IN_WINDOW", params: { windowDays: 180, minClaims: 5 }) { __typename ... on AlertRule { version params updatedBy } ... on ErrorResult { errorCode } } }`;
    expect((await gql(hub.url, underwriter, change)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const r = await gql(hub.url, await tokenFor(hub, 'RISK_ADMIN'), change);
    expect(r.data.updateAlertRule).toMatchObject({ __typename: 'AlertRule', version: 2, updatedBy: 'test-risk_admin' });
    expect(r.data.updateAlertRule.params).toEqual({ windowDays: 180, minClaims: 5 });
    // Parameters are a JSON object: an array, or JSON inside a string (the old form), is refused by the schema.
    for (const params of ['[1]', '"{\\"windowDays\\": 180}"']) {
      const bad = await gql(
        hub.url,
        await tokenFor(hub, 'RISK_ADMIN'),
        `mutation { updateAlertRule(code: "CLAIMS_IN_WINDOW", params: ${params}) { __typename ... on ErrorResult { errorCode } } }`,
      );
      expect(bad.data).toBeNull();
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const badHold = await gql(
      hub.url,
      await tokenFor(hub, 'RISK_ADMIN'),
      `mutation { updateAlertRule(code: "CLAIMS_IN_WINDOW", params: { holdSeconds: -1 }) { __typename ... on ErrorResult { errorCode } } }`,
    );
    expect(badHold.data.updateAlertRule).toMatchObject({ __typename: 'ValidationError', errorCode: 'BAD_USER_INPUT' });
  });
});
