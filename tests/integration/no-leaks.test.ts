import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import type { Role } from '../../src/auth/viewer.ts';
import { buildSchema } from '../../src/resolvers/schema.ts';

// Duck-typed schema reading: vitest may load a second copy of graphql-js, whose instanceof checks would fail.
type AnyType = {
  name?: string;
  ofType?: AnyType;
  getFields?: () => Record<string, AnyField>;
  getTypes?: () => AnyType[];
};
type AnyField = { name: string; type: AnyType; args: readonly { type: AnyType; defaultValue?: unknown }[] };
const named = (t: AnyType): AnyType & { name: string } =>
  t.ofType ? named(t.ofType) : (t as AnyType & { name: string });
const required = (a: { type: AnyType; defaultValue?: unknown }) =>
  String(a.type).endsWith('!') && a.defaultValue === undefined;
const schema = buildSchema();
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * Personal data leaves the hub only through the masking layer. The whole schema is walked (every field of
 * every type reachable from the root queries, built from the schema itself, so a new field is covered the
 * day it is added) as each role, over a customer who has everything: source records keyed by an id document
 * and by a mobile, payments with a bank account, a shared-phone alert, history, a quarantined event echoing a
 * phone. Each response is searched for the customer's full values; a role may only meet the kinds it may see.
 */
const idNo = residentId('110105', '19850307', '123');
const mobile = '13800138000';
const email = 'wang.xiaoming@example.cn';
const account = '6222021234567890123';
const street = '建国路88号';

/** What each role may see unmasked (src/auth/access-policy.ts). */
const visible: Record<Role, string[]> = {
  CHANNEL_APP: [],
  UNDERWRITER: ['id'],
  RISK_ADMIN: ['id', 'account'],
  DATA_STEWARD: ['id', 'phone', 'email', 'account', 'address'],
  INTEGRATION_ADMIN: [],
  COMPLIANCE: [],
};

/** A selection of every field of `type` down to `depth`, not re-entering a type already on the path. */
function selectionOf(type: AnyType, depth: number, path: string[]): string {
  if (!type.getFields && !type.getTypes) return '';
  if (depth === 0) return '{ __typename }';
  const isInterface = !!type.getFields && !('getInterfaces' in type && 'isTypeOf' in type);
  if (type.getTypes || isInterface) {
    const members = (type.getTypes ? type.getTypes() : schema.getPossibleTypes(type as never)) as AnyType[];
    return `{ __typename ${members
      .filter((m) => !path.includes(named(m).name))
      .map((m) => `... on ${named(m).name} ${selectionOf(m, depth - 1, [...path, named(m).name])}`)
      .join(' ')} }`;
  }
  const fields = Object.values(type.getFields?.() ?? {}).filter((f) => !f.args.some(required));
  const parts = fields.flatMap((f) => {
    const t = named(f.type);
    if (!t.getFields && !t.getTypes) return [f.name];
    if (path.includes(t.name)) return [];
    const sub = selectionOf(t, depth - 1, [...path, t.name]);
    return sub ? [`${f.name} ${sub}`] : [];
  });
  return `{ __typename ${parts.join(' ')} }`;
}

/** The JSON path of the first string holding `value` (separators ignored): names the leaking field. */
function whereIs(data: unknown, value: string, path = ''): string {
  if (typeof data === 'string') return data.replace(/[\s+-]/g, '').includes(value) ? path : '';
  if (data && typeof data === 'object')
    for (const [k, v] of Object.entries(data)) {
      const p = whereIs(v, value, `${path}.${k}`);
      if (p) return p;
    }
  return '';
}

describe('no personal data outside the masking layer', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let customerId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({
      DATABASE_URL: db.url,
      HUB_MAX_QUERY_DEPTH: '40',
      HUB_MAX_QUERY_COST: '10000000',
      HUB_MAX_QUERY_TOKENS: '100000',
    });
    await setAlertHolds(db.url, 0);
    const at = dteupd('2026-11-01T00:00:00Z');
    const client = (no: string, given: string, id: string, phone: string, extra: Record<string, unknown> = {}) =>
      coreEvent('client', 'r', {
        CLNTNUM: no,
        CLTTYPE: 'P',
        SURNAME: '王',
        GIVNAME: given,
        CLTSEX: 'M',
        CLTDOB: Number(id.slice(6, 14)),
        IDTYPE: '01',
        IDNO: id,
        MOBILE: phone,
        DTEUPD: at,
        ...extra,
      });
    const payment = (n: number, payerId: string) => ({
      topic: 'billing.payments.v1',
      key: `PAY${n}`,
      value: JSON.stringify({
        eventId: `E${n}`,
        eventType: 'PREMIUM_PAID',
        occurredAt: '2026-11-03T10:00:00+08:00',
        paymentId: `PAY${n}`,
        policyNo: 'P0000001',
        payer: { name: '王小明', idType: '01', idNumber: payerId, mobile },
        amount: '100.00',
        currency: 'CNY',
        method: 'BANK_DEBIT',
        bankAccount: { bankCode: 'ICBC', accountNo: account },
        status: 'SUCCESS',
        failureReason: null,
      }),
    });
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'leaks',
      [
        client('L0000001', '小明', idNo, mobile, { EMAIL: email, ADDR1: '北京市朝阳区', ADDR2: street }),
        // Two unrelated customers on the same mobile: a shared-phone alert names it in its evidence.
        client('L0000002', '伟', residentId('310104', '19700101', '011'), mobile),
        client('L0000003', '芳', residentId('440104', '19900505', '022'), mobile),
        payment(1, idNo),
        // A payment whose payer has no id document: its source record is keyed by the mobile.
        { ...payment(2, ''), value: payment(2, '').value.replace(`"idNumber":""`, '"idNumber":null') },
        // Quarantined: the reason echoes the bad value.
        {
          topic: 'billing.payments.v1',
          key: 'PAY3',
          value: payment(3, idNo).value.replace('"amount":"100.00"', `"amount":"${mobile}x"`),
        },
      ],
      ingestDeps,
    );
    const r = await gql(
      hub.url,
      await tokenFor(hub, 'DATA_STEWARD'),
      `{ customerBySource(system: "core-policy", sourceId: "L0000001") { id sourceRecords { sourceId } riskFlags { kind } } }`,
    );
    customerId = r.data.customerBySource.id;
    // The seed has what the walk must meet: id- and mobile-keyed source records and a shared-phone alert.
    const keys = r.data.customerBySource.sourceRecords.map((s: { sourceId: string }) => s.sourceId);
    expect(keys).toContain(`RESIDENT_ID:${idNo}`);
    expect(r.data.customerBySource.riskFlags.map((f: { kind: string }) => f.kind)).toContain('ALERT');
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('shows each role only the personal values it may see, anywhere in any response', async () => {
    const query = schema.getQueryType() as unknown as AnyType | null;
    if (!query?.getFields) throw new Error('no Query type');
    const rootArgs: Record<string, string> = {
      customer: `(id: "${customerId}")`,
      node: `(id: "${customerId}")`,
      customerBySource: `(system: "billing", sourceId: "RESIDENT_ID:${idNo}")`,
      searchCustomers: `(query: { name: "王小明" })`,
    };
    const roots = Object.values(query.getFields()).filter(
      (f) => rootArgs[f.name] !== undefined || !f.args.some(required),
    );
    expect(roots.length).toBeGreaterThanOrEqual(6);
    const patterns = {
      id: idNo,
      phone: mobile,
      email,
      account,
      address: street,
    };
    let sawSomething = 0;
    for (const role of Object.keys(visible) as Role[]) {
      const t = await tokenFor(hub, role);
      for (const f of roots) {
        const doc = `{ ${f.name}${rootArgs[f.name] ?? ''} ${selectionOf(named(f.type), 7, [named(f.type).name])} }`;
        const r = await gql(hub.url, t, doc);
        if (r.data?.[f.name]) sawSomething += 1;
        // Searched in the text and with separators removed (a phone printed as "+86 138 0013 8000").
        const text = JSON.stringify(r.data);
        const compact = text.replace(/[\s+-]/g, '').replace(/\\u3000/g, '');
        for (const [kind, value] of Object.entries(patterns)) {
          const found = text.includes(value) || compact.includes(value);
          if (!visible[role].includes(kind))
            expect(found, `${role} ${f.name}: unmasked ${kind} in ${whereIs(r.data, value)}`).toBe(false);
        }
      }
    }
    expect(sawSomething).toBeGreaterThan(10);
    // And the steward, who may see everything, does meet each value: the walk reaches them.
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const all = await gql(
      hub.url,
      steward,
      `{ customer(id: "${customerId}") ${selectionOf(schema.getType('Customer') as unknown as AnyType, 7, ['Customer'])} }`,
    );
    const text = JSON.stringify(all.data).replace(/[\s+-]/g, '');
    for (const value of [idNo, mobile, email, account, street]) expect(text).toContain(value);
  });
});
