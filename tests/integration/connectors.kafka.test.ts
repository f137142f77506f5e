import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { createKafka, ensureTopics, publish, type OutgoingMessage } from '../../src/messaging/kafka.ts';
import { streamingConnectors } from '../../src/connectors/registry.ts';
import { bancassuranceColumns, bancassuranceConnector } from '../../src/connectors/bancassurance/index.ts';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { importFile } from '../../src/ingest/file-import.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * Every source system on the real broker (and the bank's GBK file through `import`): duplicates, out-of-order
 * events, deletes with tombstones, early references, and twelve kinds of bad input — each quarantined with its
 * reason while the rest of the stream is applied — observed through the customer 360 over HTTP.
 */
const wangId = residentId('110105', '19850307', '123');
const json = (topic: string, key: string, value: unknown): OutgoingMessage => ({
  topic,
  key,
  value: typeof value === 'string' ? value : JSON.stringify(value),
});
const payer = { name: '王小明', idType: '01', idNumber: wangId, mobile: '13800138000' };
const payment = (over: Record<string, unknown>) => ({
  eventId: 'E1',
  eventType: 'PREMIUM_PAID',
  occurredAt: '2026-11-03T10:00:00+08:00',
  paymentId: 'PAY1',
  policyNo: 'P0000001',
  payer,
  amount: '12000.00',
  currency: 'CNY',
  method: 'BANK_DEBIT',
  bankAccount: { bankCode: 'ICBC', accountNo: '6222021234567890123' },
  status: 'SUCCESS',
  failureReason: null,
  ...over,
});
const claim = (op: string, row: Record<string, unknown>, before: Record<string, unknown> | null = null) => ({
  before,
  after: op === 'd' ? null : row,
  source: { ts_ms: Date.parse('2026-11-05T00:00:00Z'), db: 'claims', table: 'claim' },
  op,
  ts_ms: Date.parse('2026-11-05T00:00:01Z'),
});
const claimRow = (id: string, over: Record<string, unknown>) => ({
  claim_id: id,
  claim_no: `CLM-${id}`,
  policy_no: 'P0000001',
  claimant_name: '王小明',
  claimant_id_type: '01',
  claimant_id_no: wangId,
  claimant_phone: '13800138000',
  incident_date: 20390,
  reported_at: 1_762_000_000_000_000,
  cause_code: 'HOS',
  claimed_amount: '8000.00',
  paid_amount: '0.00',
  status: 'REPORTED',
  payee_bank_account: '6222021234567890123',
  updated_at: 1_762_000_000_000_000,
  ...over,
});

describe('all connectors on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `x${randomBytes(3).toString('hex')}.`;
  const t = (topic: string) => prefix + topic;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map(t)),
    );
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('brings payments, claims, interactions, leads, registrations, consents and bank sales to the golden customer', async () => {
    const send = (messages: OutgoingMessage[]) =>
      publish(
        createKafka(brokers, 'test-producer'),
        messages.map((m) => ({ ...m, topic: t(m.topic) })),
      );
    const wangRow = {
      CLNTNUM: 'C0000001',
      CLTTYPE: 'P',
      SURNAME: '王',
      GIVNAME: '小明',
      CLTSEX: 'M',
      CLTDOB: 19850307,
      IDTYPE: '01',
      IDNO: wangId,
      MOBILE: '13800138000',
      DTEUPD: dteupd('2026-11-01T00:00:00Z'),
    };
    // A payment and a claim arrive before the policy system has sent the customer.
    await send([json('billing.payments.v1', 'PAY1', payment({}))]);
    await send([json('claims.public.claim', JSON.stringify({ claim_id: 'CL1' }), claim('c', claimRow('CL1', {})))]);
    await send([coreEvent('client', 'r', wangRow)]);
    await send([
      // duplicate delivery of the same event, an older out-of-order event, and another payment that failed
      json('billing.payments.v1', 'PAY1', payment({})),
      json(
        'billing.payments.v1',
        'PAY1',
        payment({ eventId: 'E0', eventType: 'PREMIUM_DUE', occurredAt: '2026-11-01T10:00:00+08:00', status: 'DUE' }),
      ),
      json(
        'billing.payments.v1',
        'PAY2',
        payment({
          eventId: 'E2',
          paymentId: 'PAY2',
          eventType: 'PAYMENT_FAILED',
          occurredAt: '2026-11-04T10:00:00+08:00',
          status: 'FAILED',
          failureReason: 'INSUFFICIENT_FUNDS',
        }),
      ),
      json(
        'claims.public.claim',
        JSON.stringify({ claim_id: 'CL1' }),
        claim('u', claimRow('CL1', { status: 'PAID', paid_amount: '7500.00', updated_at: 1_762_100_000_000_000 })),
      ),
      json(
        'claims.public.claim',
        JSON.stringify({ claim_id: 'CL2' }),
        claim('c', claimRow('CL2', { cause_code: 'ACC' })),
      ),
      json(
        'claims.public.claim',
        JSON.stringify({ claim_id: 'CL2' }),
        claim('d', {}, claimRow('CL2', { cause_code: 'ACC' })),
      ),
      { topic: 'claims.public.claim', key: JSON.stringify({ claim_id: 'CL2' }), value: null },
      json('contact.interactions.v1', 'I1', {
        interactionId: 'I1',
        type: 'INBOUND_CALL',
        subtype: null,
        at: '2026-11-06T09:00:00+08:00',
        callerNumber: '+86 138 0013 8000',
        clientNo: null,
        policyNo: null,
        agentId: 'A7',
        summary: '咨询保单',
        outcome: 'RESOLVED',
        satisfaction: 4,
        complaint: null,
      }),
      json('contact.interactions.v1', 'I2', {
        interactionId: 'I2',
        type: 'FOLLOW_UP',
        subtype: 'NEW_POLICY',
        at: '2026-11-07T09:00:00+08:00',
        callerNumber: null,
        clientNo: 'C0000001',
        policyNo: 'P0000001',
        agentId: 'A8',
        summary: '新契约回访',
        outcome: 'REACHED',
        satisfaction: 5,
        complaint: null,
      }),
      json('contact.interactions.v1', 'I3', {
        interactionId: 'I3',
        type: 'COMPLAINT',
        subtype: null,
        at: '2026-11-08T09:00:00+08:00',
        callerNumber: '021-62345678',
        clientNo: 'C0000001',
        policyNo: 'P0000001',
        agentId: 'A9',
        summary: '理赔慢',
        outcome: 'ESCALATED',
        satisfaction: null,
        complaint: { category: 'CLAIMS', status: 'OPEN' },
      }),
      json('agency.leads.v1', 'L1', {
        leadId: 'L1',
        createdAt: '2026-11-02T10:00:00+08:00',
        updatedAt: '2026-11-02T10:00:00+08:00',
        agentCode: 'AG001',
        name: '王曉明',
        gender: 'M',
        birthDate: '1985/3/7',
        mobile: '138-0013-8000',
        city: '北京',
        source: 'REFERRAL',
        referredByClientNo: 'C0000009',
        interests: ['HEALTH'],
        status: 'QUOTED',
        convertedPolicyNo: null,
      }),
      json('app.customer-events.v1', 'U1', {
        eventId: 'W1',
        type: 'REGISTERED',
        at: '2026-11-02T12:00:00+08:00',
        userId: 'U1',
        mobile: '13800138000',
        email: 'wxm@example.cn',
        name: '王小明',
        idNumber: null,
        consent: null,
      }),
      json('app.customer-events.v1', 'U1', {
        eventId: 'W2',
        type: 'CONSENT_CHANGED',
        at: '2026-11-02T12:05:00+08:00',
        userId: 'U1',
        consent: { purpose: 'MARKETING', channel: 'SMS', granted: false },
      }),
    ]);
    // Twelve kinds of bad input.
    await send([
      { topic: 'billing.payments.v1', key: 'B1', value: 'not json' },
      json('billing.payments.v1', 'B2', payment({ paymentId: null })),
      json('billing.payments.v1', 'B3', payment({ paymentId: 'B3', occurredAt: '2026-11-03 10:00:00' })),
      json('billing.payments.v1', 'B4', payment({ paymentId: 'B4', amount: 'abc' })),
      json('billing.payments.v1', 'B5', payment({ paymentId: 'B5', eventType: 'BONUS' })),
      json('claims.public.claim', JSON.stringify({ claim_id: 'CL9' }), claim('c', claimRow('CL9', { status: 'LOST' }))),
      json('claims.public.claim', JSON.stringify({ claim_id: 'CL8' }), { op: 't', source: {} }),
      json('contact.interactions.v1', 'I9', {
        interactionId: 'I9',
        type: 'SURVEY',
        at: '2026-11-06T09:00:00+08:00',
        satisfaction: 9,
      }),
      json('agency.leads.v1', 'L9', {
        leadId: 'L9',
        updatedAt: '2026-11-02T10:00:00+08:00',
        name: '李四',
        birthDate: 'yesterday',
      }),
      json('app.customer-events.v1', 'U9', {
        eventId: 'W9',
        type: 'CONSENT_CHANGED',
        at: '2026-11-02T12:00:00+08:00',
        userId: 'U9',
      }),
      { topic: 'app.customer-events.v1', key: 'U8', value: '[1,2,3]' },
      coreEvent('client', 'r', { ...wangRow, CLNTNUM: 'C0000099', CLTTYPE: 'Z' }),
    ]);

    // The bank's GBK file: one good row and three rows with obvious errors.
    const dir = mkdtempSync(join(tmpdir(), 'banca-'));
    const file = join(dir, 'ICBC-20261109.csv');
    const rows = [
      [
        'ICBC',
        '0101',
        'B0000001',
        '王小明',
        '01',
        wangId,
        '13800138000',
        '6222021234567890123',
        '3000.00',
        '20261109',
        'NB',
      ],
      ['ICBC', '0101', 'B0000002', '赵六', '01', '', '13900000000', '6222', '1000.00', '20261109', 'NB'],
      [
        'ICBC',
        '0102',
        'B0000003',
        '钱七',
        '01',
        wangId.slice(0, 17),
        '13900000001',
        '6223',
        '1000.00',
        '20261109',
        'NB',
      ],
      [
        'ICBC',
        '0102',
        'B0000004',
        '孙八',
        '01',
        residentId('310104', '19900101', '222'),
        '13900000002',
        '6224',
        'N/A',
        '20261109',
        'NB',
      ],
    ];
    writeFileSync(
      file,
      iconv.encode(`${bancassuranceColumns.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`, 'gbk'),
    );
    const first = await importFile(hub.orm, bancassuranceConnector, file, ingestDeps);
    expect(first.rows).toBe(4);
    expect(first.rejected.map((r) => r.offset)).toEqual(['3', '4', '5']);
    expect(first.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/证件号码 is empty/),
      expect.stringMatching(/wrong length/),
      expect.stringMatching(/保费 is not a decimal/),
    ]);
    const again = await importFile(hub.orm, bancassuranceConnector, file, ingestDeps);
    expect(again).toMatchObject({ skipped: 4, applied: 0, quarantined: 0 });

    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const query = `{ customerBySource(system: "core-policy", sourceId: "C0000001") {
      sourceRecords { system sourceId }
      payments { edges { node { ... on Payment { sourceKey type status amount bankAccount failureReason } } } }
      claims { edges { node { ... on Claim { sourceKey type status claimedAmount paidAmount incidentDate } } } }
      interactions { edges { node { ... on Interaction { sourceKey type subtype outcome satisfaction status } } } }
      followUps: interactions(filter: { types: ["FOLLOW_UP"] }) { edges { node { sourceKey } } }
      early: activities(filter: { to: "2026-11-03T00:00:00Z" }) { edges { node { kind sourceKey } } }
      activities(first: 50) { edges { node { kind sourceKey status } } }
    } }`;
    const r = await eventually(
      async () => {
        const res = await gql(hub.url, steward, query);
        const c = res.data?.customerBySource;
        // Topics and partitions are consumed independently: wait for every expected end state.
        const done =
          c &&
          c.activities.edges.length === 10 &&
          c.claims.edges.length === 1 &&
          c.claims.edges[0].node.status === 'PAID' &&
          c.payments.edges.length === 2 &&
          c.payments.edges.some((e: any) => e.node.sourceKey === 'PAY1' && e.node.type === 'PREMIUM_PAID') &&
          c.interactions.edges.length === 3 &&
          new Set(c.sourceRecords.map((s: any) => s.system)).size === 6 &&
          c.activities.edges.some((e: any) => e.node.kind === 'CONSENT' && e.node.status === 'WITHDRAWN');
        return done ? res : undefined;
      },
      60_000,
      'all activities to reach the customer',
    );
    expect(r.errors).toBeUndefined();
    const c = r.data.customerBySource;
    expect(new Set(c.sourceRecords.map((s: any) => s.system))).toEqual(
      new Set(['core-policy', 'billing', 'claims', 'agency-crm', 'web-app', 'bancassurance']),
    );
    expect(c.payments.edges.map((e: any) => e.node)).toEqual([
      {
        sourceKey: 'PAY2',
        type: 'PAYMENT_FAILED',
        status: 'FAILED',
        amount: '12000.00',
        bankAccount: '6222021234567890123',
        failureReason: 'INSUFFICIENT_FUNDS',
      },
      {
        sourceKey: 'PAY1',
        type: 'PREMIUM_PAID',
        status: 'SUCCESS',
        amount: '12000.00',
        bankAccount: '6222021234567890123',
        failureReason: null,
      },
    ]);
    expect(c.claims.edges.map((e: any) => e.node)).toEqual([
      {
        sourceKey: 'CL1',
        type: 'HOSPITALISATION',
        status: 'PAID',
        claimedAmount: '8000.00',
        paidAmount: '7500.00',
        incidentDate: '2025-10-29',
      },
    ]);
    expect(c.interactions.edges.map((e: any) => e.node.sourceKey)).toEqual(['I3', 'I2', 'I1']);
    expect(c.interactions.edges.find((e: any) => e.node.sourceKey === 'I2').node).toMatchObject({
      type: 'FOLLOW_UP',
      subtype: 'NEW_POLICY',
      outcome: 'REACHED',
      satisfaction: 5,
    });
    expect(c.interactions.edges.find((e: any) => e.node.sourceKey === 'I3').node.status).toBe('OPEN');
    expect(c.followUps.edges.map((e: any) => e.node.sourceKey)).toEqual(['I2']);
    expect(c.early.edges.map((e: any) => e.node.kind).sort()).toEqual(['CLAIM', 'CONSENT', 'LEAD', 'REGISTRATION']); // the claim was reported in 2025
    expect(new Set(c.activities.edges.map((e: any) => e.node.kind))).toEqual(
      new Set(['PAYMENT', 'CLAIM', 'INTERACTION', 'LEAD', 'REGISTRATION', 'CONSENT', 'BANK_SALE']),
    );
    expect(c.activities.edges.find((e: any) => e.node.kind === 'CONSENT').node.status).toBe('WITHDRAWN');

    // Bank accounts are masked for a channel app.
    const masked = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "C0000001") { payments(first: 1) { edges { node { ... on Payment { bankAccount } } } } } }`,
    );
    expect(masked.data.customerBySource.payments.edges[0].node.bankAccount).toBe('6222***********0123');

    const q = await eventually(
      async () => {
        const res = await gql(
          hub.url,
          steward,
          `{ quarantinedEvents(first: 50) { edges { node { connector topic offset errorCode reason } } } }`,
        );
        return res.data?.quarantinedEvents.edges.length >= 15 ? res : undefined;
      },
      30_000,
      'bad input to be quarantined',
    );
    const kinds = q.data.quarantinedEvents.edges.map((e: any) => `${e.node.connector}:${e.node.errorCode}`).sort();
    expect(kinds).toEqual([
      'agency-crm:INVALID_VALUE',
      'bancassurance:INVALID_VALUE',
      'bancassurance:INVALID_VALUE',
      'bancassurance:MISSING_FIELD',
      'billing:INVALID_VALUE',
      'billing:INVALID_VALUE',
      'billing:MISSING_FIELD',
      'billing:UNKNOWN_CODE',
      'billing:UNPARSEABLE',
      'claims:UNKNOWN_CODE',
      'claims:UNSUPPORTED_OPERATION',
      'contact-centre:INVALID_VALUE',
      'core-policy:UNKNOWN_CODE',
      'web-app:INVALID_ENVELOPE',
      'web-app:MISSING_FIELD',
    ]);

    // Bad messages from topics also reach <topic>.dlq with Kafka Connect's error headers.
    const dlq = createKafka(brokers, 'test-dlq').consumer({ groupId: `dlq-${prefix}` });
    await dlq.connect();
    await dlq.subscribe({ topics: [t('billing.payments.v1.dlq')], fromBeginning: true });
    const dead: { key: string | null; headers: Record<string, string> }[] = [];
    await dlq.run({
      eachMessage: async ({ message }) => {
        dead.push({
          key: message.key?.toString() ?? null,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      },
    });
    await eventually(async () => (dead.length >= 5 ? true : undefined), 30_000, 'five billing dead letters');
    await dlq.disconnect();
    expect(dead.map((d) => d.key).sort()).toEqual(['B1', 'B2', 'B3', 'B4', 'B5']);
    const b1 = dead.find((d) => d.key === 'B1')?.headers ?? {};
    expect(b1).toMatchObject({
      '__connect.errors.topic': t('billing.payments.v1'),
      '__connect.errors.connector.name': 'billing',
      '__connect.errors.stage': 'VALUE_CONVERTER',
      '__connect.errors.exception.class.name': 'MappingError.UNPARSEABLE',
    });
    expect(b1['__connect.errors.exception.message']).toMatch(/not valid JSON/);
    expect(Number(b1['__connect.errors.offset'])).toBeGreaterThanOrEqual(0);

    const metrics = await (await fetch(hub.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/hub_events_total\{connector="billing",outcome="quarantined"\} 5/);
    expect(metrics).toMatch(/hub_quarantined_total\{connector="claims",code="UNSUPPORTED_OPERATION"\} 1/);
    expect(metrics).toMatch(/hub_consumer_lag_messages\{topic="[^"]+billing.payments.v1",partition="\d"\} \d+/);
    expect(metrics).toMatch(/hub_batch_apply_seconds_count\{connector="core-policy"\} [1-9]/);
  });
});
