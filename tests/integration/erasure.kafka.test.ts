import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { signToken } from '../../src/auth/viewer.ts';
import { eventually, gql } from '../support/graphql.ts';
import { startTestHub, testJwtSecret } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Personal-information rights end to end. A person arrives through the real broker from five sources — the
 * core-policy client with a policy, a billing payment, a claim, app events (registration, a consent) and a call
 * to the contact centre — plus a quarantined payment carrying them; another customer arrives beside them. The
 * command line exports everything held about the person; a steward requests the erasure from the command line,
 * cannot approve it herself, and a second steward approves it through GraphQL. Then every text and JSON column
 * of every table in the database is scanned for each of the person's values (name, resident id, phone digits,
 * e-mail, address, bank account): none remains. The policy, the payment's amount and the claim stay as
 * pseudonymised rows; the other customer is intact; the erasure is logged without values and published as an
 * ERASED event.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const person = {
  name: '蒋文静',
  residentId: residentId('310105', '19880512', '046'),
  phone: '13955550001',
  email: 'wenjing.jiang@example.cn',
  address: '上海市长宁区愚园路1088弄7号501室',
  bankAccount: '6222021001122334455',
};
const other = {
  name: '邵建国',
  residentId: residentId('320106', '19750203', '017'),
  phone: '13955550002',
  email: 'jianguo.shao@example.cn',
  address: '江苏省南京市鼓楼区中山北路30号',
  bankAccount: '6222021009988776655',
};
const t = dteupd('2026-11-01T00:00:00Z');
const client = (no: string, p: typeof person, surname: string, given: string, dob: number, sex: string) =>
  coreEvent('client', 'c', {
    CLNTNUM: no,
    CLTTYPE: 'P',
    SURNAME: surname,
    GIVNAME: given,
    CLTSEX: sex,
    CLTDOB: dob,
    IDTYPE: '01',
    IDNO: p.residentId,
    MOBILE: p.phone,
    PHONE: null,
    EMAIL: p.email,
    ADDR1: p.address,
    ADDR2: null,
    ADDR3: null,
    POSTCODE: '200050',
    OCCPCODE: null,
    DTEUPD: t,
  });
const payment = (id: string, p: typeof person, policyNo: string, eventType = 'PREMIUM_PAID') => ({
  topic: 'billing.payments.v1',
  key: id,
  value: JSON.stringify({
    eventId: `EV-${id}`,
    eventType,
    occurredAt: '2026-11-03T10:00:00+08:00',
    paymentId: id,
    policyNo,
    payer: { name: p.name, idType: '01', idNumber: p.residentId, mobile: p.phone },
    amount: '1200.00',
    currency: 'CNY',
    method: 'BANK_DEBIT',
    bankAccount: { bankCode: 'ICBC', accountNo: p.bankAccount },
    status: 'SUCCESS',
    failureReason: null,
  }),
});
const messages = [
  client('Q0000001', person, '蒋', '文静', 19880512, 'F'),
  client('Q0000002', other, '邵', '建国', 19750203, 'M'),
  coreEvent('policy', 'c', {
    CHDRNUM: 'QP000001',
    CNTTYPE: 'WL1',
    STATCODE: 'IF',
    OCCDATE: 20240115,
    PTDATE: 20270115,
    SINSTAMT: '300000.00',
    INSTPREM: '1200.00',
    BILLFREQ: '01',
    SRCEBUS: 'AG',
    AGNTNUM: 'AG001',
    DTEUPD: t,
  }),
  ...['Q0000001', 'Q0000002'].map((no, i) =>
    coreEvent('role', 'c', {
      CHDRNUM: i === 0 ? 'QP000001' : 'QP000002',
      CLNTNUM: no,
      CLRRROLE: 'OW',
      BNYSEQ: null,
      BNYPC: null,
      VALIDFLAG: '1',
      CLTRELN: null,
      DTEUPD: t,
    }),
  ),
  payment('QPAY1', person, 'QP000001'),
  payment('QPAY2', other, 'QP000002'),
  // a payment the billing connector cannot map (unknown event type): quarantined whole, the person inside
  payment('QPAY3', person, 'QP000001', 'GIFT'),
  {
    topic: 'claims.public.claim',
    key: '{"claim_id":"QCL1"}',
    value: JSON.stringify({
      before: null,
      after: {
        claim_id: 'QCL1',
        claim_no: 'CLM-Q1',
        policy_no: 'QP000001',
        claimant_name: person.name,
        claimant_id_type: '01',
        claimant_id_no: person.residentId,
        claimant_phone: person.phone,
        incident_date: 20390,
        reported_at: 1_762_000_000_000_000,
        cause_code: 'ILL',
        claimed_amount: '5000.00',
        paid_amount: '4000.00',
        status: 'PAID',
        payee_bank_account: person.bankAccount,
        updated_at: 1_762_000_000_000_000,
      },
      source: { ts_ms: 1_762_000_001_000 },
      op: 'c',
      ts_ms: 1_762_000_001_100,
    }),
  },
  {
    topic: 'app.customer-events.v1',
    key: 'QAPP1',
    value: JSON.stringify({
      eventId: 'QE-1',
      type: 'REGISTERED',
      at: '2026-11-02T09:00:00+08:00',
      userId: 'QAPP1',
      mobile: person.phone,
      email: person.email,
      name: person.name,
      idNumber: null,
    }),
  },
  {
    topic: 'app.customer-events.v1',
    key: 'QAPP1',
    value: JSON.stringify({
      eventId: 'QE-2',
      type: 'CONSENT_CHANGED',
      at: '2026-11-02T09:05:00+08:00',
      userId: 'QAPP1',
      consent: { purpose: 'MARKETING', channel: 'SMS', granted: true },
    }),
  },
  {
    topic: 'contact.interactions.v1',
    key: 'QIX1',
    value: JSON.stringify({
      interactionId: 'QIX1',
      type: 'INBOUND_CALL',
      subtype: null,
      at: '2026-11-06T09:00:00+08:00',
      callerNumber: `0086${person.phone}`,
      clientNo: 'Q0000001',
      policyNo: 'QP000001',
      agentId: 'A1',
      summary: `${person.name}来电咨询理赔进度，回电${person.phone}，邮件${person.email}`,
      outcome: 'RESOLVED',
      satisfaction: 5,
      complaint: null,
    }),
  },
];

/** Every (table, column) of text or JSON in the hub's schema, and the rows whose column holds `value`. */
async function occurrences(c: pg.Client, value: string): Promise<string[]> {
  const { rows: columns } = await c.query<{ table_name: string; column_name: string }>(
    `select c.table_name, c.column_name from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = current_schema() and (c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json') or c.data_type = 'ARRAY')`,
  );
  expect(columns.length).toBeGreaterThan(40);
  const found: string[] = [];
  for (const col of columns) {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from "${col.table_name}" where strpos("${col.column_name}"::text, $1) > 0`,
      [value],
    );
    if ((rows[0]?.n ?? 0) > 0) found.push(`${col.table_name}.${col.column_name} (${rows[0]?.n})`);
  }
  return found;
}

describe('personal-information rights', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const prefix = `pi${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    const brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test-producer'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    await publishAndWait(brokers, prefix, db.url, messages);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('exports everything about a person, then erases them from every table with four eyes', async () => {
    const alice = await signToken(hub.tokens, 'steward-alice', ['DATA_STEWARD']);
    const bob = await signToken(hub.tokens, 'steward-bob', ['DATA_STEWARD']);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const lookup = async (sourceId: string) =>
        (
          await gql(
            hub.url,
            alice,
            `query($s: String!) { customerBySource(system: "core-policy", sourceId: $s) { id status displayName sourceRecords { system } } }`,
            { s: sourceId },
          )
        ).data.customerBySource;
      const subject = await lookup('Q0000001');
      // all five sources found the person: one golden record
      expect(subject.sourceRecords.map((r: any) => r.system).sort()).toEqual([
        'billing',
        'claims',
        'core-policy',
        'web-app',
      ]);
      expect(
        (await c.query(`select 1 from quarantined_event where message_value like '%' || $1 || '%'`, [person.phone]))
          .rowCount,
      ).toBe(1);
      // Not vacuous: before the erasure every value is somewhere.
      for (const [what, value] of Object.entries(person))
        expect((await occurrences(c, value)).length, `${what} before erasure`).toBeGreaterThan(0);

      // Access: the command line exports everything held, with sources.
      const env = {
        ...process.env,
        DATABASE_URL: db.url,
        HUB_JWT_SECRET: testJwtSecret,
        LOG_LEVEL: 'error',
        KAFKA_BROKERS: '',
      };
      const dir = mkdtempSync(join(tmpdir(), 'sar-'));
      const out = join(dir, 'subject.json');
      await run(
        process.execPath,
        ['src/cli/hub.ts', 'subject-access', subject.id, '--out', out, '--reason', 'SAR 2026-118'],
        {
          cwd: root,
          env: { ...env, HUB_TOKEN: alice },
        },
      );
      const exported = JSON.parse(readFileSync(out, 'utf8'));
      expect(exported).toMatchObject({ customerId: subject.id, exportedBy: 'steward-alice' });
      const d = exported.data;
      expect(d.customer.display_name).toBe(person.name);
      expect(d.sourceRecords.map((r: any) => r.system).sort()).toEqual(['billing', 'claims', 'core-policy', 'web-app']);
      expect(d.sourceRecords.every((r: any) => r.raw !== null)).toBe(true);
      expect(d.identifiers.map((i: any) => [i.value, i.source_system])).toEqual(
        expect.arrayContaining([
          [person.residentId, 'core-policy'],
          [person.residentId, 'billing'],
        ]),
      );
      // phones are shown as the hub formats them (+86 139 5555 0001), addresses with their postcode
      expect(d.contactPoints.map((x: any) => x.kind).sort()).toEqual(
        expect.arrayContaining(['ADDRESS', 'EMAIL', 'MOBILE']),
      );
      expect(JSON.stringify(d.contactPoints)).toContain(person.email);
      expect(d.policies.map((p: any) => p.policy_no)).toEqual(['QP000001']);
      expect(d.policyRoles).toMatchObject([{ policy_no: 'QP000001', role: 'POLICYHOLDER', source_id: 'Q0000001' }]);
      expect(d.activities.map((a: any) => a.kind).sort()).toEqual([
        'CLAIM',
        'CONSENT',
        'INTERACTION',
        'PAYMENT',
        'REGISTRATION',
      ]);
      expect(d.consents).toMatchObject([
        { purpose: 'MARKETING', channel: 'SMS', status: 'GRANTED', source_id: 'QAPP1' },
      ]);
      expect(d.history.length).toBeGreaterThan(0);
      expect(JSON.stringify(d)).toContain(person.bankAccount);

      // Erasure: requested on the command line by one steward …
      const requested = await run(
        process.execPath,
        ['src/cli/hub.ts', 'erase', subject.id, '--reason', `erasure request 2026-119 of ${person.name}`],
        { cwd: root, env: { ...env, HUB_TOKEN: alice } },
      );
      const requestId = /requested: ([0-9a-f-]{36})/.exec(requested.stdout)?.[1] as string;
      expect(requestId).toBeDefined();
      expect((await lookup('Q0000001')).status).toBe('ACTIVE'); // nothing happens before approval
      const approve = `mutation($id: ID!) { approveErasure(requestId: $id) { __typename
        ... on RightsRequest { status customerId requestedBy approvedBy reason summary } ... on ErrorResult { errorCode } } }`;
      // … she cannot approve it herself …
      expect((await gql(hub.url, alice, approve, { id: requestId })).data.approveErasure).toEqual({
        __typename: 'SelfApprovalError',
        errorCode: 'SELF_APPROVAL',
      });
      // … a channel app cannot touch it …
      const app = await signToken(hub.tokens, 'app', ['CHANNEL_APP']);
      expect((await gql(hub.url, app, approve, { id: requestId })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // … and a second steward approves: the person is erased.
      const done = (await gql(hub.url, bob, approve, { id: requestId })).data.approveErasure;
      expect(done).toMatchObject({
        __typename: 'RightsRequest',
        status: 'DONE',
        customerId: subject.id,
        requestedBy: 'steward-alice',
        approvedBy: 'steward-bob',
        reason: 'erasure request 2026-119 of [erased]',
      });
      expect(done.summary).toMatchObject({ party_identifier: 3, source_record: 4, activity: 5 });

      // No personal value of the person anywhere in the database (the phone also as the hub formats it).
      const values: [string, string][] = [...Object.entries(person), ['formatted phone', '139 5555 0001']];
      for (const [what, value] of values)
        expect(await occurrences(c, value), `${what} (${value}) after erasure`).toEqual([]);

      // What policy obligations need stays, pseudonymised: the policy, the role, the payment and claim amounts.
      const erased = (
        await gql(
          hub.url,
          bob,
          `query($id: ID!) { customer(id: $id) { id status displayName birthDate identifiers { value } contactPoints { value }
              history(last: 1) { cause } mayContact(purpose: MARKETING, channel: SMS) { allowed reason } } }`,
          { id: subject.id },
        )
      ).data.customer;
      expect(erased).toEqual({
        id: subject.id,
        status: 'ERASED',
        displayName: null,
        birthDate: null,
        identifiers: [],
        contactPoints: [],
        history: [{ cause: 'ERASED' }],
        mayContact: { allowed: false, reason: 'the customer was erased' },
      });
      const kept = await c.query(
        `select kind, amount::text, policy_no, party_source_id from activity where source_key in ('QPAY1', 'QCL1') order by kind`,
      );
      expect(kept.rows.map((r) => [r.kind, r.amount, r.policy_no])).toEqual([
        ['CLAIM', '5000.00', 'QP000001'],
        ['PAYMENT', '1200.00', 'QP000001'],
      ]);
      expect(kept.rows.every((r) => r.party_source_id.startsWith('erased:'))).toBe(true);
      expect(
        (await c.query(`select 1 from policy_role where policy_no = 'QP000001' and client_source_id = 'Q0000001'`))
          .rowCount,
      ).toBe(1);
      expect((await c.query(`select 1 from policy where policy_no = 'QP000001'`)).rowCount).toBe(1);
      // A person arriving again from a source is a new arrival, not a revival of the erased golden record.
      expect(
        (
          await c.query(
            `select 1 from match_key mk join source_record sr on sr.id = mk.source_record_id where sr.party_id = $1`,
            [subject.id],
          )
        ).rowCount,
      ).toBe(0);

      // The other customer is intact.
      const control = await lookup('Q0000002');
      expect(control.displayName).toBe(other.name);
      for (const [what, value] of Object.entries(other))
        expect((await occurrences(c, value)).length, `the other customer's ${what}`).toBeGreaterThan(0);
      const controlRecords = await c.query(
        `select count(*)::int as n from source_record where party_id = $1 and not deleted and raw is not null`,
        [control.id],
      );
      expect(controlRecords.rows[0].n).toBe(2);

      // The erasure is logged (who, who approved, no values) and published downstream.
      const log = await c.query(
        `select kind, status, requested_by, approved_by, reason from rights_request order by requested_at`,
      );
      expect(log.rows).toEqual([
        {
          kind: 'ACCESS',
          status: 'DONE',
          requested_by: 'steward-alice',
          approved_by: 'steward-alice',
          reason: 'SAR 2026-118',
        },
        {
          kind: 'ERASURE',
          status: 'DONE',
          requested_by: 'steward-alice',
          approved_by: 'steward-bob',
          reason: 'erasure request 2026-119 of [erased]',
        },
      ]);
      await eventually(
        async () =>
          (
            await c.query(
              `select 1 from outbox where topic = 'hub.customers.v1' and message_key = $1 and payload->>'type' = 'ERASED' and published_at is not null`,
              [subject.id],
            )
          ).rowCount === 1
            ? true
            : undefined,
        20_000,
        'the ERASED event published',
      );

      // The source sends the person again (a later change of the client): a new golden record, not a revival.
      await publishAndWait(await kafkaBrokers(), prefix, db.url, [
        coreEvent('client', 'u', {
          ...JSON.parse(messages[0]?.value as string).payload.after,
          DTEUPD: dteupd('2026-12-01T00:00:00Z'),
        }),
      ]);
      const again = await lookup('Q0000001');
      expect(again.id).not.toBe(subject.id);
      expect(again.status).toBe('ACTIVE');
      const still = await gql(hub.url, bob, `query($id: ID!) { customer(id: $id) { status displayName } }`, {
        id: subject.id,
      });
      expect(still.data.customer).toEqual({ status: 'ERASED', displayName: null });
    } finally {
      await c.end();
    }
  });
});
