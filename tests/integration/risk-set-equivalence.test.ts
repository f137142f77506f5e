import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate, openOrm, type EntityManager, type Orm } from '../../src/db/orm.ts';
import { withQueryStats } from '../../src/db/query-stats.ts';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { nameKey } from '../../src/domain/normalize/index.ts';
import {
  entryKeys,
  normaliseEntry,
  screenParties,
  screenParty,
  type EntryIdentifiers,
} from '../../src/risk/screening.ts';
import { enabledRules, evaluateAlerts, evaluateAlertsForParties } from '../../src/risk/alerts.ts';
import { rescanRisk } from '../../src/risk/rescan.ts';
import { newRiskWork, settleRiskWork, type RiskWork } from '../../src/risk/risk-work.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The batch's risk follow-up runs set-based (every affected customer screened and evaluated together). It must
 * give exactly what screening and evaluating the customers one at a time gives: the same screening hits
 * (including dismissals kept, ALLOW-list dismissals, stale hits removed), the same alerts (opened, updated,
 * closed with the same reason, suppression respected, the network cascade) and the same outbox events in the
 * same order. Two databases get the same customers; one runs the set-based settleRiskWork, the other the
 * per-customer loop with screenParty / evaluateAlerts; the rows are compared after each step.
 */
const DAY = 86_400_000;
const now = Date.now();
const ymd = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString().slice(0, 10);
const ts = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
const uuid = (group: string, n: number) => `00000000-0000-4000-${group}-${String(n).padStart(12, '0')}`;
const P = (n: number) => uuid('8000', n);
const E = (n: number) => uuid('9000', n);
const MERGED = P(13);
const INACTIVE = P(14);
const MISSING = P(15);
const SHARED_PHONE = '13800000001';
const SWITCHBOARD = '4008001234';
const ACCOUNT = '6217000011112222';
/** A network's evidence entry when every holder is unrelated to the others (each counted). */
const network = (key: string, ...ns: number[]) => ({
  key,
  customers: ns.length,
  holders: ns.length,
  sharers: ns
    .map(P)
    .sort()
    .map((customer) => ({ customer, counted: true, why: 'UNRELATED' })),
});
const idOf = (n: number) => residentId('110105', `19${60 + n}0101`, String(100 + n));

type Customer = {
  n: number;
  name: string;
  birth: string;
  status?: string;
  version?: number;
  idNumber?: string;
  phones?: string[];
  addresses?: string[];
  claims?: { key: string; policy: string; incidentDaysAgo: number; paid: number }[];
  premiums?: { key: string; amount: number; account?: string }[];
};
const customers: Customer[] = [
  // claims-heavy, on the fraud list by id number, in the phone network and the bank-account network
  {
    n: 1,
    name: '王小明',
    birth: '1985-03-07',
    idNumber: idOf(1),
    phones: [SHARED_PHONE],
    claims: [
      { key: 'C1', policy: 'POL-A1', incidentDaysAgo: 200, paid: 30_000 },
      { key: 'C2', policy: 'POL-A1', incidentDaysAgo: 60, paid: 40_000 },
      { key: 'C3', policy: 'POL-A2', incidentDaysAgo: 60, paid: 40_000 },
    ],
    premiums: [
      { key: 'PR1', amount: 5000 },
      { key: 'PR2', amount: 5000, account: ACCOUNT },
    ],
  },
  { n: 2, name: '郑和', birth: '1960-01-01', idNumber: idOf(2), phones: [SHARED_PHONE] },
  // on the ALLOW list by id number: its phone hit is dismissed by the system
  { n: 3, name: '冯英', birth: '1965-01-01', idNumber: idOf(3), phones: [SHARED_PHONE] },
  // a homophone of a sanctioned name with the same birth date (already dismissed by an underwriter)
  { n: 4, name: '章伟', birth: '1970-01-01', version: 3, idNumber: idOf(4), phones: [SWITCHBOARD] },
  { n: 5, name: '陈立', birth: '1971-01-01', idNumber: idOf(5), phones: [SWITCHBOARD], addresses: ['ADDR-1'] },
  { n: 6, name: '林峰', birth: '1972-01-01', idNumber: idOf(6), addresses: ['ADDR-1'] },
  {
    n: 7,
    name: '钱多',
    birth: '1973-01-01',
    idNumber: idOf(7),
    claims: [
      { key: 'C71', policy: 'POL-R', incidentDaysAgo: 100, paid: 1000 },
      { key: 'C72', policy: 'POL-R', incidentDaysAgo: 80, paid: 1000 },
      { key: 'C73', policy: 'POL-R', incidentDaysAgo: 10, paid: 1000 },
    ],
    premiums: [{ key: 'PR7', amount: 800, account: ACCOUNT }],
  },
  {
    n: 8,
    name: '孙九',
    birth: '1974-01-01',
    idNumber: idOf(8),
    phones: [SWITCHBOARD],
    premiums: [{ key: 'PR8', amount: 800, account: '6217-0000-1111-2222' }],
  },
  ...[9, 10, 11, 12].map(
    (n): Customer => ({
      n,
      name: `赵${'一二三四'[n - 9]}`,
      birth: `19${66 + n}-02-02`,
      idNumber: idOf(n),
      addresses: ['ADDR-2'],
    }),
  ),
  { n: 13, name: '王小明', birth: '1985-03-07', status: 'MERGED', idNumber: idOf(1) },
  { n: 14, name: '吴刚', birth: '1975-05-05', status: 'INACTIVE', idNumber: idOf(14) },
];

type Entry = EntryIdentifiers & { n: number; list: string; effectiveTo?: string };
const entries: Entry[] = [
  {
    n: 1,
    list: 'INTERNAL_FRAUD',
    idNumber: idOf(1),
    fullName: '王小明',
    birthDate: null,
    phone: null,
    bankAccount: null,
    creditCode: null,
  },
  {
    n: 2,
    list: 'ALLOW',
    idNumber: idOf(3),
    fullName: null,
    birthDate: null,
    phone: null,
    bankAccount: null,
    creditCode: null,
  },
  {
    n: 3,
    list: 'BAD_DEBT',
    idNumber: null,
    fullName: null,
    birthDate: null,
    phone: SHARED_PHONE,
    bankAccount: null,
    creditCode: null,
  },
  {
    n: 4,
    list: 'SANCTIONS',
    idNumber: null,
    fullName: '張偉',
    birthDate: '1970-01-01',
    phone: null,
    bankAccount: null,
    creditCode: null,
  },
  {
    n: 5,
    list: 'BAD_DEBT',
    idNumber: null,
    fullName: null,
    birthDate: null,
    phone: null,
    bankAccount: ACCOUNT,
    creditCode: null,
  },
  // expired yesterday: hits no one
  {
    n: 6,
    list: 'BAD_DEBT',
    idNumber: null,
    fullName: null,
    birthDate: null,
    phone: SHARED_PHONE,
    bankAccount: null,
    creditCode: null,
    effectiveTo: ymd(1),
  },
];

async function seed(c: pg.Client): Promise<void> {
  await c.query(`update alert_rule set params = $1, version = 2 where code = 'SHARED_CONTACT'`, [
    JSON.stringify({ minCustomers: 3, excludedPhones: [SWITCHBOARD] }),
  ]);
  for (const e of entries) {
    const n = normaliseEntry(e);
    await c.query(
      `insert into blacklist_entry (id, list, status, id_number, full_name, name_key, name_pinyin, birth_date, phone_key, bank_account, credit_code, reason, effective_to, proposed_by, approved_by, version)
       values ($1, $2, 'ACTIVE', $3, $4, $5, $6, $7, $8, $9, $10, 'test', $11, 'a', 'b', 2)`,
      [
        E(e.n),
        e.list,
        n.idNumber,
        e.fullName,
        n.nameKey,
        n.namePinyin,
        n.birthDate,
        n.phoneKey,
        n.bankAccount,
        n.creditCode,
        e.effectiveTo ?? null,
      ],
    );
    for (const k of entryKeys(n))
      await c.query(`insert into blacklist_key (key_hash, entry_id) values (hashtextextended($1, 0), $2)`, [k, E(e.n)]);
  }
  for (const policy of [
    { no: 'POL-A1', commenced: 400 },
    { no: 'POL-A2', commenced: 100 },
    { no: 'POL-R', commenced: 2000, reinstated: 30 },
  ]) {
    await c.query(
      `insert into policy (id, system, policy_no, status, commencement_date, reinstated_at, source_version) values (gen_random_uuid(), 'core-policy', $1, 'IF', $2, $3, 1)`,
      [policy.no, ymd(policy.commenced), policy.reinstated ? ts(policy.reinstated) : null],
    );
  }
  for (const p of customers) {
    const sr = uuid('c000', p.n);
    await c.query(
      `insert into party (id, kind, status, display_name, name_key, birth_date, version, merged_into_id) values ($1, 'PERSON', $2, $3, $4, $5, $6, $7)`,
      [
        P(p.n),
        p.status ?? 'ACTIVE',
        p.name,
        nameKey(p.name),
        p.birth,
        p.version ?? 1,
        p.status === 'MERGED' ? P(1) : null,
      ],
    );
    await c.query(
      `insert into source_record (id, system, source_id, party_id, link_type, source_version) values ($1, 'core-policy', $2, $3, 'EXACT_ID', 1)`,
      [sr, `S${p.n}`, P(p.n)],
    );
    if (p.idNumber)
      await c.query(
        `insert into party_identifier (id, party_id, source_record_id, type, value, valid) values (gen_random_uuid(), $1, $2, 'RESIDENT_ID', $3, true)`,
        [P(p.n), sr, p.idNumber],
      );
    for (const phone of p.phones ?? [])
      await c.query(
        `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid) values (gen_random_uuid(), $1, $2, 'MOBILE', $3, $3, true)`,
        [P(p.n), sr, phone],
      );
    for (const a of p.addresses ?? [])
      await c.query(
        `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid) values (gen_random_uuid(), $1, $2, 'ADDRESS', $3, $3, true)`,
        [P(p.n), sr, a],
      );
    for (const cl of p.claims ?? []) await addClaim(c, p.n, cl);
    for (const pr of p.premiums ?? []) {
      await c.query(
        `insert into activity (id, kind, system, source_key, party_system, party_source_id, policy_no, occurred_at, type, status, amount, data, source_version)
         values (gen_random_uuid(), 'PAYMENT', 'billing', $1, 'core-policy', $2, 'POL-A1', $3, 'PREMIUM_PAID', 'SUCCESS', $4, $5, 1)`,
        [pr.key, `S${p.n}`, ts(100), pr.amount, JSON.stringify(pr.account ? { bankAccount: pr.account } : {})],
      );
    }
  }
  // What earlier batches left: hits (one dismissed while nothing changed, one stale, a merged customer's) and
  // alerts (a network that grew or dissolved, an unchanged one, a suppressed closure, a merged and an inactive
  // customer's open alerts).
  const hit = (n: number, party: string, entry: string, status: string, partyVersion: number) =>
    c.query(
      `insert into screening_hit (id, party_id, entry_id, score, matched, status, dismissed_by, dismissed_reason, dismissed_at, entry_version, party_version) values ($1, $2, $3, 0.7, '["NAME_PINYIN","BIRTH_DATE"]', $4, $5, $6, $7, 2, $8)`,
      [
        uuid('b000', n),
        party,
        entry,
        status,
        status === 'DISMISSED' ? 'underwriter' : null,
        status === 'DISMISSED' ? 'different person' : null,
        status === 'DISMISSED' ? ts(5) : null,
        partyVersion,
      ],
    );
  await hit(1, P(4), E(4), 'DISMISSED', 3);
  await hit(2, P(4), E(1), 'OPEN', 3);
  await hit(3, MERGED, E(1), 'OPEN', 1);
  await hit(4, MERGED, E(3), 'DISMISSED', 1);
  const alert = (
    n: number,
    party: string,
    rule: string,
    status: string,
    evidence: unknown,
    explanation: string,
    suppressDays: number | null = null,
  ) =>
    c.query(
      `insert into alert (id, party_id, rule_code, rule_version, status, points, evidence, explanation, closed_by, closed_reason, suppressed_until) values ($1, $2, $3, 1, $4, 20, $5, $6, $7, $8, $9)`,
      [
        uuid('a000', n),
        party,
        rule,
        status,
        JSON.stringify(evidence),
        explanation,
        status === 'CLOSED' ? 'underwriter' : null,
        status === 'CLOSED' ? 'reviewed' : null,
        suppressDays === null ? null : ts(-suppressDays),
      ],
    );
  await alert(
    1,
    P(2),
    'SHARED_CONTACT',
    'OPEN',
    { phones: [{ key: SHARED_PHONE, customers: 4 }] },
    'phone shared by 4 unrelated customers',
  );
  await alert(
    2,
    P(5),
    'SHARED_ADDRESS',
    'OPEN',
    { addresses: [{ key: 'ADDR-1', customers: 4 }] },
    'address shared by 4 unrelated customers',
  );
  await alert(
    3,
    P(6),
    'SHARED_ADDRESS',
    'ACKNOWLEDGED',
    { addresses: [{ key: 'ADDR-1', customers: 4 }] },
    'address shared by 4 unrelated customers',
  );
  await alert(4, P(7), 'CLAIMS_IN_WINDOW', 'CLOSED', { claims: ['C71', 'C72'] }, '2 claims', 30);
  await alert(
    5,
    P(7),
    'SHARED_BANK_ACCOUNT',
    'OPEN',
    { bankAccounts: [network(ACCOUNT, 1, 7, 8)] },
    'bank account shared by 3 unrelated customers',
  );
  await alert(6, MERGED, 'CLAIMS_IN_WINDOW', 'OPEN', { claims: ['C1', 'C2', 'C3'] }, '3 claims');
  await alert(7, INACTIVE, 'LOSS_RATIO', 'OPEN', { ratio: 5 }, 'loss ratio 5');
}

async function addClaim(
  c: pg.Client,
  party: number,
  cl: { key: string; policy: string; incidentDaysAgo: number; paid: number },
): Promise<void> {
  await c.query(
    `insert into activity (id, kind, system, source_key, party_system, party_source_id, policy_no, occurred_at, status, data, source_version)
     values (gen_random_uuid(), 'CLAIM', 'claims', $1, 'core-policy', $2, $3, $4, 'PAID', $5, 1)`,
    [
      cl.key,
      `S${party}`,
      cl.policy,
      ts(cl.incidentDaysAgo - 2),
      JSON.stringify({
        incidentDate: ymd(cl.incidentDaysAgo),
        paidAmount: cl.paid.toFixed(2),
        claimedAmount: cl.paid.toFixed(2),
      }),
    ],
  );
}

/** Later changes: P3 leaves the phone network (it dissolves), P1 claims again, P4 changes (its dismissal lapses). */
async function change(c: pg.Client): Promise<void> {
  await c.query(`update contact_point set value = '13900000003', search_key = '13900000003' where party_id = $1`, [
    P(3),
  ]);
  await addClaim(c, 1, { key: 'C4', policy: 'POL-A1', incidentDaysAgo: 10, paid: 20_000 });
  await c.query(`update party set version = version + 1 where id = $1`, [P(4)]);
}

/** Everything the risk follow-up writes, without what is random (new ids, event times). */
async function snapshot(c: pg.Client) {
  const seeded = (id: string) => (id.startsWith('00000000-') ? id : 'new');
  const hits = (
    await c.query(
      `select id::text, party_id::text, entry_id::text, score, matched, status, dismissed_by, dismissed_reason, dismissed_at is not null as dismissed_at, entry_version, party_version
       from screening_hit order by party_id, entry_id`,
    )
  ).rows.map((r) => ({ ...r, id: seeded(r.id) }));
  const alerts = (
    await c.query(
      `select id::text, party_id::text, rule_code, rule_version, status, points, evidence, explanation, closed_by, closed_reason, suppressed_until is not null as suppressed
       from alert order by party_id, rule_code, status, evidence::text`,
    )
  ).rows.map((r) => ({ ...r, id: seeded(r.id) }));
  const label = new Map(
    (await c.query(`select id::text, party_id::text, rule_code from alert`)).rows.map((r) => [
      r.id,
      r.id.startsWith('00000000-') ? r.id : `new:${r.party_id}:${r.rule_code}`,
    ]),
  );
  // In the order written (a fresh heap only appends): the events of one customer must keep their order.
  const outbox = (await c.query(`select topic, message_key, payload from outbox order by ctid`)).rows.map((r) => {
    const { at, alertId, ...payload } = r.payload;
    expect(typeof at).toBe('string');
    return { topic: r.topic, key: r.message_key, ...payload, alert: label.get(alertId) };
  });
  return { hits, alerts, outbox };
}

/** One side of a comparison: a database of its own, migrated and seeded, with holds off. */
type Side = { name: string; db?: TestDatabase; orm?: Orm; client?: pg.Client };
async function openSides(sides: Side[], label: string, seedWith: (c: pg.Client) => Promise<void>): Promise<void> {
  for (const side of sides) {
    side.db = await createTestDatabase(label);
    side.orm = await openOrm(side.db.url, { poolMax: 1 });
    await migrate(side.orm);
    side.client = new pg.Client({ connectionString: side.db.url });
    await side.client.connect();
    await seedWith(side.client);
    await setAlertHolds(side.db.url, 0);
  }
}
async function closeSides(sides: Side[]): Promise<void> {
  for (const side of sides) {
    await side.client?.end();
    await side.orm?.close(true);
    await side.db?.drop();
  }
}

type Runner = (em: EntityManager, work: RiskWork) => Promise<number>;
const prefix = 'eq.';
/** The set-based follow-up of a batch. */
const setBased: Runner = (em, work) => settleRiskWork(em, work, prefix);
/** The same follow-up one customer at a time, round by round through the network cascade. */
const oneAtATime: Runner = async (em, work) => {
  for (const id of [...work.screen].sort()) await screenParty(em, id);
  const rules = await enabledRules(em);
  let alerts = 0;
  const done = new Set<string>();
  let queue = [...work.evaluate].sort();
  while (queue.length > 0) {
    const related = new Set<string>();
    for (const id of queue) {
      done.add(id);
      alerts += await evaluateAlerts(em, id, prefix, related, rules);
    }
    queue = [...related].filter((id) => !done.has(id)).sort();
  }
  return alerts;
};

const work = (screen: string[], evaluate: string[]): RiskWork => {
  const w = newRiskWork();
  for (const id of screen) w.screen.add(id);
  for (const id of evaluate) w.evaluate.add(id);
  return w;
};

describe('set-based risk follow-up', () => {
  const sides: (Side & { runner: Runner })[] = [
    { name: 'set-based', runner: setBased },
    { name: 'one at a time', runner: oneAtATime },
  ];
  const run = async (w: () => RiskWork) => {
    const out: { alerts: number; statements: number; snapshot: Awaited<ReturnType<typeof snapshot>> }[] = [];
    for (const side of sides) {
      const stats = { statements: 0 };
      const alerts = await withQueryStats(stats, () => side.orm!.em.fork().transactional((em) => side.runner(em, w())));
      out.push({ alerts, statements: stats.statements, snapshot: await snapshot(side.client!) });
    }
    return out as [(typeof out)[number], (typeof out)[number]];
  };

  beforeAll(() => openSides(sides, 'hub_risk_eq', seed), 180_000);
  afterAll(() => closeSides(sides));

  it('gives the same hits, alerts and outbox events as screening and evaluating one customer at a time', async () => {
    const everyone = [...customers.map((p) => P(p.n)), MISSING];
    const [set, single] = await run(() => work(everyone, [P(1), P(4), P(5), P(7), P(9), MERGED, INACTIVE, MISSING]));
    expect(set.snapshot).toEqual(single.snapshot);
    expect(set.alerts).toBe(single.alerts);
    process.stdout.write(
      `risk follow-up of ${everyone.length} customers: ${set.statements} statements set-based, ${single.statements} one at a time\n`,
    );
    expect(set.statements).toBeLessThan(single.statements / 4);

    const { hits, alerts, outbox } = set.snapshot;
    const hitsOf = (n: number) =>
      hits
        .filter((h) => h.party_id === P(n))
        .map((h) => ({
          entry: h.entry_id,
          matched: h.matched,
          score: h.score,
          status: h.status,
          by: h.dismissed_by,
          reason: h.dismissed_reason,
        }));
    expect(hitsOf(1)).toEqual([
      { entry: E(1), matched: ['ID_NUMBER', 'NAME'], score: 1, status: 'OPEN', by: null, reason: null },
      { entry: E(3), matched: ['PHONE'], score: 0.8, status: 'OPEN', by: null, reason: null },
      { entry: E(5), matched: ['BANK_ACCOUNT'], score: 1, status: 'OPEN', by: null, reason: null },
    ]);
    expect(hitsOf(3)).toEqual([
      { entry: E(3), matched: ['PHONE'], score: 0.8, status: 'DISMISSED', by: 'system', reason: 'ALLOW_LIST' },
    ]);
    // the underwriter's dismissal holds (nothing changed); the stale fraud-list hit is gone
    expect(hitsOf(4)).toEqual([
      {
        entry: E(4),
        matched: ['NAME_PINYIN', 'BIRTH_DATE'],
        score: 0.7,
        status: 'DISMISSED',
        by: 'underwriter',
        reason: 'different person',
      },
    ]);
    expect(hitsOf(7)).toEqual([
      { entry: E(5), matched: ['BANK_ACCOUNT'], score: 1, status: 'OPEN', by: null, reason: null },
    ]);
    expect(hitsOf(8)).toEqual([]); // the account written with dashes is not the listed one for screening
    expect(hitsOf(13)).toEqual([
      {
        entry: E(3),
        matched: ['NAME_PINYIN', 'BIRTH_DATE'],
        score: 0.7,
        status: 'DISMISSED',
        by: 'underwriter',
        reason: 'different person',
      },
    ]);
    expect(hits.some((h) => h.entry_id === E(6))).toBe(false);

    const open = (n: number) =>
      alerts.filter((a) => a.party_id === P(n) && a.status !== 'CLOSED').map((a) => a.rule_code);
    expect(open(1)).toEqual([
      'CLAIMS_IN_WINDOW',
      'CUMULATIVE_PAID',
      'EARLY_CLAIM',
      'LOSS_RATIO',
      'MULTI_POLICY_INCIDENT',
      'SHARED_BANK_ACCOUNT',
      'SHARED_CONTACT',
    ]);
    const of = (n: number, rule: string) =>
      alerts.find((a) => a.party_id === P(n) && a.rule_code === rule && a.status !== 'CLOSED');
    expect(of(1, 'EARLY_CLAIM')?.evidence).toEqual({
      early: [{ claim: 'C3', policy: 'POL-A2', start: ymd(100), basis: 'COMMENCEMENT', days: 40 }],
    });
    expect(of(1, 'SHARED_CONTACT')).toMatchObject({
      rule_version: 2,
      points: 20,
      evidence: { phones: [network(SHARED_PHONE, 1, 2, 3)] },
      explanation: 'phone shared by 3 unrelated customers',
    });
    // the cascade: P2 (its alert updated) and P3 (opened) were named by P1's new network finding
    expect(of(2, 'SHARED_CONTACT')).toMatchObject({
      id: uuid('a000', 1),
      evidence: { phones: [network(SHARED_PHONE, 1, 2, 3)] },
      explanation: 'phone shared by 3 unrelated customers',
      rule_version: 2,
    });
    expect(open(3)).toEqual(['SHARED_CONTACT']);
    // the switchboard shared by P4, P5 and P8 is excluded
    expect(open(4)).toEqual([]);
    // the dissolved address network: P5's alert closed, and P6 (found through the keys' holders) too
    for (const n of [5, 6])
      expect(
        alerts.filter((a) => a.party_id === P(n)).map((a) => [a.rule_code, a.status, a.closed_by, a.closed_reason]),
      ).toEqual([['SHARED_ADDRESS', 'CLOSED', 'system', 'CONDITION_NO_LONGER_MET']]);
    // suppressed: three claims, but the closed alert is not reopened; an early claim after the reinstatement
    expect(alerts.filter((a) => a.party_id === P(7)).map((a) => [a.rule_code, a.status])).toEqual([
      ['CLAIMS_IN_WINDOW', 'CLOSED'],
      ['EARLY_CLAIM', 'OPEN'],
      ['SHARED_BANK_ACCOUNT', 'OPEN'],
    ]);
    expect(of(7, 'EARLY_CLAIM')?.evidence).toMatchObject({
      early: [{ claim: 'C73', policy: 'POL-R', basis: 'REINSTATEMENT' }],
    });
    expect(of(8, 'SHARED_BANK_ACCOUNT')?.evidence).toEqual({ bankAccounts: [network(ACCOUNT, 1, 7, 8)] });
    for (const n of [9, 10, 11, 12])
      expect(of(n, 'SHARED_ADDRESS')?.evidence).toEqual({ addresses: [network('ADDR-2', 9, 10, 11, 12)] });
    expect(
      alerts
        .filter((a) => a.party_id === MERGED || a.party_id === INACTIVE)
        .map((a) => [a.rule_code, a.status, a.closed_reason]),
    ).toEqual([
      ['CLAIMS_IN_WINDOW', 'CLOSED', 'CUSTOMER_MERGED'],
      ['LOSS_RATIO', 'CLOSED', 'CUSTOMER_INACTIVE'],
    ]);

    // one event per change, the unchanged network alert of P7 gives none
    expect(outbox.filter((o) => o.key === P(7)).map((o) => `${o.event}:${o.rule}`)).toEqual([
      'ALERT_OPENED:EARLY_CLAIM',
    ]);
    expect(outbox.filter((o) => o.key === P(2))).toEqual([
      {
        topic: `${prefix}hub.risk-alerts.v1`,
        key: P(2),
        event: 'ALERT_UPDATED',
        alert: uuid('a000', 1),
        customerId: P(2),
        rule: 'SHARED_CONTACT',
        ruleVersion: 2,
        points: 20,
        evidence: { phones: [network(SHARED_PHONE, 1, 2, 3)] },
        explanation: 'phone shared by 3 unrelated customers',
      },
    ]);
    expect(outbox.filter((o) => o.key === MERGED)).toEqual([
      {
        topic: `${prefix}hub.risk-alerts.v1`,
        key: MERGED,
        event: 'ALERT_CLOSED',
        alert: uuid('a000', 6),
        customerId: MERGED,
        rule: 'CLAIMS_IN_WINDOW',
        ruleVersion: null,
        points: null,
        evidence: null,
        explanation: 'CUSTOMER_MERGED',
      },
    ]);
    expect(set.alerts).toBe(outbox.length);
  });

  it('stays the same as the network dissolves, evidence grows and a dismissal lapses', async () => {
    for (const side of sides) await change(side.client!);
    const [set, single] = await run(() => work([P(3), P(4)], [P(3), P(1)]));
    expect(set.snapshot).toEqual(single.snapshot);
    expect(set.alerts).toBe(single.alerts);
    const { hits, alerts, outbox } = set.snapshot;
    expect(hits.filter((h) => h.party_id === P(3))).toEqual([]);
    expect(hits.filter((h) => h.party_id === P(4)).map((h) => [h.entry_id, h.status, h.party_version])).toEqual([
      [E(4), 'OPEN', 4],
    ]);
    // P3 left: its phone alert is closed and, through the holders of the phone, P1's and P2's too
    for (const n of [1, 2, 3])
      expect(
        alerts
          .filter((a) => a.party_id === P(n) && a.rule_code === 'SHARED_CONTACT')
          .map((a) => [a.status, a.closed_reason]),
      ).toEqual([['CLOSED', 'CONDITION_NO_LONGER_MET']]);
    expect(alerts.find((a) => a.party_id === P(1) && a.rule_code === 'CLAIMS_IN_WINDOW')?.evidence).toMatchObject({
      claims: ['C1', 'C2', 'C3', 'C4'],
    });
    const p1 = outbox.filter((o) => o.key === P(1)).map((o) => `${o.event}:${o.rule}`);
    expect(p1.slice(p1.indexOf('ALERT_UPDATED:CLAIMS_IN_WINDOW'))).toEqual([
      'ALERT_UPDATED:CLAIMS_IN_WINDOW',
      'ALERT_UPDATED:CUMULATIVE_PAID',
      'ALERT_UPDATED:LOSS_RATIO',
      'ALERT_CLOSED:SHARED_CONTACT',
    ]);

    // Nothing changed since: everyone again, and nothing is written.
    const everyone = [...customers.map((p) => P(p.n)), MISSING];
    const [again, againSingle] = await run(() => work(everyone, everyone));
    expect(again.alerts).toBe(0);
    expect(againSingle.alerts).toBe(0);
    expect(again.snapshot).toEqual(set.snapshot);
    expect(againSingle.snapshot).toEqual(set.snapshot);
  });
});

/**
 * Ordinary customers — a phone of their own, no claim, a name on no list — as most of a store is; and two whose
 * only route to a list hit is the kind a whole-store rescan must not miss: a homophone of a sanctioned name with
 * its birth date, and an account on a list written with spaces in a payment.
 */
const ORDINARY = 40;
const HOMOPHONE = P(200);
const SPACED_ACCOUNT = P(201);
async function seedOrdinary(c: pg.Client): Promise<void> {
  const people = [
    ...Array.from({ length: ORDINARY }, (_, i) => ({
      id: P(100 + i),
      name: `普通${'甲乙丙丁戊己庚辛壬癸'[i % 10]}${'子丑寅卯'[Math.floor(i / 10)]}`,
      birth: '1990-01-01',
      phone: `1390000${String(1000 + i)}`,
    })),
    { id: HOMOPHONE, name: '张维', birth: '1970-01-01', phone: '13911110000' },
    { id: SPACED_ACCOUNT, name: '何平', birth: '1980-01-01', phone: '13911110001' },
  ];
  for (const [i, p] of people.entries()) {
    const sr = uuid('d000', i);
    await c.query(
      `insert into party (id, kind, status, display_name, name_key, birth_date, version) values ($1, 'PERSON', 'ACTIVE', $2, $3, $4, 1)`,
      [p.id, p.name, nameKey(p.name), p.birth],
    );
    await c.query(
      `insert into source_record (id, system, source_id, party_id, link_type, source_version) values ($1, 'core-policy', $2, $3, 'EXACT_ID', 1)`,
      [sr, `O${i}`, p.id],
    );
    await c.query(
      `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid) values (gen_random_uuid(), $1, $2, 'MOBILE', $3, $3, true)`,
      [p.id, sr, p.phone],
    );
  }
  // A family of four at one address (one household: one party for the network rules) and four unrelated
  // customers at another (a network).
  const address = (n: number, key: string) =>
    c.query(
      `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid) values (gen_random_uuid(), $1, $2, 'ADDRESS', $3, $3, true)`,
      [P(100 + n), uuid('d000', n), key],
    );
  await c.query(`insert into household (id) values ($1)`, [uuid('e000', 1)]);
  for (const n of [0, 1, 2, 3]) {
    await address(n, 'ADDR-HOME');
    await c.query(`insert into household_member (party_id, household_id) values ($1, $2)`, [
      P(100 + n),
      uuid('e000', 1),
    ]);
  }
  for (const n of [4, 5, 6, 7]) await address(n, 'ADDR-FLAT');
  // an address of placeholders ("-") normalised to nothing: not shared by anyone
  for (const n of [8, 9, 10, 11]) await address(n, '');
  await c.query(
    `insert into activity (id, kind, system, source_key, party_system, party_source_id, policy_no, occurred_at, type, status, amount, data, source_version)
     values (gen_random_uuid(), 'PAYMENT', 'billing', 'PR-SPACED', 'core-policy', $1, 'POL-A1', now(), 'PREMIUM_PAID', 'SUCCESS', 900, $2, 1)`,
    [`O${ORDINARY + 1}`, JSON.stringify({ bankAccount: '6217 0000 1111 2222' })],
  );
}

describe("the rescan's risk phase", () => {
  const sides: Side[] = [{ name: 'candidates only' }, { name: 'everyone' }];
  const activeIds = async (c: pg.Client) =>
    (await c.query<{ id: string }>(`select id::text from party where status = 'ACTIVE' order by id`)).rows.map(
      (r) => r.id,
    );
  /** What the rescan did before: every active customer screened and evaluated, 200 per transaction. */
  const everyone = async (orm: Orm, ids: string[]) => {
    let alerts = 0;
    for (let i = 0; i < ids.length; i += 200)
      await orm.em.fork().transactional(async (em) => {
        await screenParties(em, ids.slice(i, i + 200));
        alerts += await evaluateAlertsForParties(em, ids.slice(i, i + 200), prefix);
      });
    return alerts;
  };
  const run = async () => {
    const [candidates, all] = sides as [Required<Side>, Required<Side>];
    const ids = await activeIds(candidates.client);
    const pruned = await rescanRisk(candidates.orm, prefix, ids);
    const alerts = await everyone(all.orm, await activeIds(all.client));
    return {
      ids,
      pruned,
      alerts,
      snapshots: [await snapshot(candidates.client), await snapshot(all.client)] as const,
    };
  };

  beforeAll(
    () =>
      openSides(sides, 'hub_risk_rescan', async (c) => {
        await seed(c);
        await seedOrdinary(c);
      }),
    180_000,
  );
  afterAll(() => closeSides(sides));

  it('screens and evaluates only the customers who could change, with the result of doing everyone', async () => {
    const first = await run();
    expect(first.snapshots[0]).toEqual(first.snapshots[1]);
    expect(first.pruned.alerts).toBe(first.alerts);
    expect(first.alerts).toBeGreaterThan(10);
    const { hits, alerts } = first.snapshots[0];
    // the routes a pruned rescan could miss did give their hits
    expect(hits.filter((h) => h.party_id === HOMOPHONE).map((h) => [h.entry_id, h.matched])).toEqual([
      [E(4), ['NAME_PINYIN', 'BIRTH_DATE']],
    ]);
    expect(hits.filter((h) => h.party_id === SPACED_ACCOUNT).map((h) => [h.entry_id, h.matched])).toEqual([
      [E(5), ['BANK_ACCOUNT']],
    ]);
    expect(alerts.some((a) => a.party_id === SPACED_ACCOUNT && a.rule_code === 'SHARED_BANK_ACCOUNT')).toBe(true);
    // the unrelated four at one address are a network, the family of four is not
    expect(
      alerts
        .filter((a) => a.rule_code === 'SHARED_ADDRESS' && a.evidence.addresses?.[0]?.key === 'ADDR-FLAT')
        .map((a) => a.party_id),
    ).toEqual([4, 5, 6, 7].map((n) => P(100 + n)));
    expect(alerts.some((a) => [0, 1, 2, 3].some((n) => a.party_id === P(100 + n)))).toBe(false);
    // and the ordinary customers (the network of four aside) were left alone
    const ordinary = Array.from({ length: ORDINARY }, (_, i) => P(100 + i));
    process.stdout.write(
      `rescan risk phase: ${first.ids.length} active customers, ${first.pruned.screened} screened, ${first.pruned.evaluated} evaluated\n`,
    );
    expect(first.pruned.screened).toBeLessThanOrEqual(first.ids.length - ORDINARY);
    expect(first.pruned.evaluated).toBeLessThanOrEqual(first.ids.length - ORDINARY + 4);

    // After changes (a network dissolves, a claim, a lapsed dismissal) and once more with nothing changed.
    for (const side of sides) await change(side.client!);
    const second = await run();
    expect(second.snapshots[0]).toEqual(second.snapshots[1]);
    expect(second.pruned.alerts).toBe(second.alerts);
    expect(second.alerts).toBeGreaterThan(0);
    const third = await run();
    expect(third.pruned.alerts).toBe(0);
    expect(third.alerts).toBe(0);
    expect(third.snapshots[0]).toEqual(second.snapshots[0]);
    expect(ordinary.every((id) => !third.snapshots[0].hits.some((h) => h.party_id === id))).toBe(true);
  });
});
