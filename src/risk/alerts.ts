import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks, uniqueIds } from '../db/sql-sets.ts';
import { stableJson } from '../domain/stable-json.ts';

/**
 * High-claim alert rules, evaluated incrementally for the customers whose claims, payments or policies a batch
 * changed (and for everyone by `hub risk rescan`). Rules are rows of `alert_rule` (parameters, points,
 * enabled, versioned); this module only knows how each kind is computed. One alert per customer and rule stays
 * open and is updated as its evidence grows; a closed alert with a suppression window is not reopened inside
 * it. Every opened or updated alert is written to the outbox in the same transaction (published to Kafka).
 *
 * A set of customers is evaluated with a constant number of statements: everything the rules read is loaded
 * for the whole set first (statuses, open alerts, claims and payments, policies, one network query per
 * network rule), the rules are evaluated in memory, and only what changed is written. A customer's evaluation
 * reads its own alerts and the shared data (contact points, activities, policies), never another customer's
 * alerts — so evaluating the set at once gives what evaluating its members one after the other would.
 */
export type Rule = { code: string; kind: string; params: Record<string, unknown>; points: number; version: number };
type Claim = {
  key: string;
  policy_no: string | null;
  reported: Date | null;
  incident: string | null;
  paid: number;
  claimed: number;
  status: string | null;
};
/** `related`: other customers the same finding concerns (a shared phone flags everyone who shares it). */
type Finding = { evidence: Record<string, unknown>; explanation: string; related?: string[] };

const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
const dayDiff = (a: string, b: string) => Math.round((Date.parse(a) - Date.parse(b)) / 86_400_000);

type Payment = { key: string; type: string | null; at: Date | null; amount: number };
/** Everything the claim rules read about one customer, loaded once per evaluation. */
type Facts = { claims: Claim[]; payments: Payment[]; bankAccounts: string[] };
type ActivityRow = {
  kind: string;
  key: string;
  policy_no: string | null;
  at: Date | null;
  type: string | null;
  status: string | null;
  amount: string | null;
  incident: string | null;
  paid: string | null;
  claimed: string | null;
  account: string | null;
};

/**
 * The customers' claims and payments, through the source records linked to them. Two steps with literal keys
 * rather than one join: the plan stays an index lookup even on tables whose statistics lag a bulk load.
 */
async function factsOfParties(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, Facts>> {
  const rowsOf = new Map<string, ActivityRow[]>(partyIds.map((id) => [id, []]));
  const records =
    partyIds.length === 0
      ? []
      : await executeBound<{ party_id: string; system: string; source_id: string }[]>(
          em,
          `select party_id, system, source_id from source_record where party_id in (${marks(partyIds.length)}) and not deleted`,
          [...partyIds],
        );
  if (records.length > 0) {
    const owner = new Map(records.map((r) => [`${r.system}\u0000${r.source_id}`, r.party_id]));
    const rows = await executeBound<(ActivityRow & { party_system: string; party_source_id: string })[]>(
      em,
      `select a.party_system, a.party_source_id, a.kind, a.source_key as key, a.policy_no, a.occurred_at as at, a.type, a.status, a.amount::text as amount, a.data->>'incidentDate' as incident,
              a.data->>'paidAmount' as paid, a.data->>'claimedAmount' as claimed, ${bankAccountOf} as account
         from (values ${marks(records.length, '(?, ?)')}) as owner(system, source_id)
         join activity a on a.party_system = owner.system and a.party_source_id = owner.source_id
        where a.kind in ('CLAIM', 'PAYMENT') and not a.deleted`,
      records.flatMap((r) => [r.system, r.source_id]),
    );
    // Each customer's rows keep the order the statement returned them in (as when it was read alone).
    for (const r of rows) rowsOf.get(owner.get(`${r.party_system}\u0000${r.party_source_id}`) as string)?.push(r);
  }
  const date = (v: Date | null) => (v ? new Date(v) : null);
  return new Map(
    [...rowsOf].map(([id, rows]) => [
      id,
      {
        claims: rows
          .filter((r) => r.kind === 'CLAIM')
          .map((r) => ({
            key: r.key,
            policy_no: r.policy_no,
            reported: date(r.at),
            incident: r.incident,
            paid: Number(r.paid ?? 0),
            claimed: Number(r.claimed ?? 0),
            status: r.status,
          })),
        payments: rows
          .filter((r) => r.kind === 'PAYMENT')
          .map((r) => ({ key: r.key, type: r.type, at: date(r.at), amount: Number(r.amount ?? 0) })),
        bankAccounts: [
          ...new Set(rows.map((r) => r.account).filter((a): a is string => a !== null && a !== '')),
        ].sort(),
      },
    ]),
  );
}

type PolicyRow = {
  policy_no: string;
  commencement: string | null;
  reinstated: string | null;
  increased: string | null;
};
type Shared = { key: string; customers: number; parties: string[] };
/**
 * What the rules read beyond the customer's own claims and payments, loaded once for the whole set: the
 * policies claimed on (EARLY_CLAIM, by number) and, per network rule code, each customer's shared contacts
 * (SHARED_CONTACT, by customer).
 */
type Context = { policies: Map<string, PolicyRow>; shared: Map<string, Map<string, Shared[]>> };

/** Policies by number: the first row the statement returns for a number counts, as it did per customer. */
async function policiesOf(em: EntityManager, policyNos: readonly string[]): Promise<Map<string, PolicyRow>> {
  const byNo = new Map<string, PolicyRow>();
  if (policyNos.length === 0) return byNo;
  const rows = await executeBound<PolicyRow[]>(
    em,
    `select policy_no, to_char(commencement_date, 'YYYY-MM-DD') as commencement, to_char(reinstated_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as reinstated,
            to_char(sum_insured_increased_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as increased
       from policy where not deleted and policy_no in (${marks(policyNos.length)})`,
    [...policyNos],
  );
  for (const r of rows) if (!byNo.has(r.policy_no)) byNo.set(r.policy_no, r);
  return byNo;
}

const claimedPolicies = (facts: Facts) => [
  ...new Set(facts.claims.map((c) => c.policy_no).filter((x): x is string => x !== null)),
];

/** How a SHARED_CONTACT rule reads its parameters. */
function networkParams(p: Record<string, unknown>) {
  const contact: 'PHONE' | 'ADDRESS' | 'BANK_ACCOUNT' =
    p.contact === 'ADDRESS' || p.contact === 'BANK_ACCOUNT' ? p.contact : 'PHONE';
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    contact,
    excluded: new Set([...strings(p.excludedPhones), ...strings(p.excluded)]),
    min: num(p.minCustomers, 3),
  };
}

function evaluateRule(partyId: string, rule: Rule, facts: Facts, context: Context): Finding | null {
  const p = rule.params;
  const claims = facts.claims;
  switch (rule.kind) {
    case 'CLAIMS_IN_WINDOW': {
      const since = daysAgo(num(p.windowDays, 365));
      const inWindow = claims.filter((c) => c.reported && c.reported >= since);
      return inWindow.length >= num(p.minClaims, 3)
        ? {
            evidence: { claims: inWindow.map((c) => c.key).sort() },
            explanation: `${inWindow.length} claims in the last ${num(p.windowDays, 365)} days (threshold ${num(p.minClaims, 3)})`,
          }
        : null;
    }
    case 'CUMULATIVE_PAID': {
      const since = daysAgo(num(p.windowDays, 730));
      const inWindow = claims.filter((c) => c.reported && c.reported >= since && c.paid > 0);
      const paid = inWindow.reduce((s, c) => s + c.paid, 0);
      return paid >= num(p.minPaid, 100_000)
        ? {
            evidence: { claims: inWindow.map((c) => c.key).sort(), paid: paid.toFixed(2) },
            explanation: `claims paid ${paid.toFixed(2)} CNY in ${num(p.windowDays, 730)} days (threshold ${num(p.minPaid, 100_000)})`,
          }
        : null;
    }
    case 'LOSS_RATIO': {
      const since = daysAgo(num(p.windowDays, 730));
      const paid = claims.filter((c) => c.reported && c.reported >= since).reduce((s, c) => s + c.paid, 0);
      if (paid === 0) return null;
      const premiumPayments = facts.payments.filter((x) => x.type === 'PREMIUM_PAID' && x.at && x.at >= since);
      const premiums = premiumPayments.reduce((s, x) => s + x.amount, 0);
      if (premiums < num(p.minPremium, 1000)) return null;
      const ratio = paid / premiums;
      return ratio >= num(p.minRatio, 3)
        ? {
            evidence: {
              paid: paid.toFixed(2),
              premiums: premiums.toFixed(2),
              ratio: Number(ratio.toFixed(2)),
              payments: premiumPayments.map((x) => x.key).sort(),
            },
            explanation: `loss ratio ${ratio.toFixed(2)} (claims paid ${paid.toFixed(2)} / premiums ${premiums.toFixed(2)}) over ${num(p.windowDays, 730)} days (threshold ${num(p.minRatio, 3)})`,
          }
        : null;
    }
    case 'EARLY_CLAIM': {
      const within = num(p.withinDays, 90);
      // The clock starts at commencement and restarts at a reinstatement (status changed to RI) or a sum-insured
      // increase, as the contestability period does: the latest of these on or before the incident counts. The
      // policies claimed on are loaded for the whole set (policiesOf).
      const early = claims.flatMap((c) => {
        const pol = c.policy_no === null ? undefined : context.policies.get(c.policy_no);
        if (!pol || !c.incident) return [];
        const incident = c.incident;
        const starts = [
          { basis: 'COMMENCEMENT', start: pol.commencement },
          { basis: 'REINSTATEMENT', start: pol.reinstated },
          { basis: 'SUM_INSURED_INCREASE', start: pol.increased },
        ].filter((x): x is { basis: string; start: string } => x.start !== null && x.start <= incident);
        const latest = starts.sort((a, b) => b.start.localeCompare(a.start))[0];
        if (!latest) return [];
        const d = dayDiff(incident, latest.start);
        return d <= within
          ? [{ claim: c.key, policy: pol.policy_no, start: latest.start, basis: latest.basis, days: d }]
          : [];
      });
      return early.length > 0
        ? {
            evidence: { early },
            explanation: early
              .map(
                (e) =>
                  `claim ${e.claim} incident ${e.days} days after ${e.basis.toLowerCase().replaceAll('_', ' ')} of policy ${e.policy} (threshold ${within})`,
              )
              .join('; '),
          }
        : null;
    }
    case 'MULTI_POLICY_INCIDENT': {
      const byIncident = new Map<string, Set<string>>();
      for (const c of claims)
        if (c.incident && c.policy_no)
          byIncident.set(c.incident, new Set([...(byIncident.get(c.incident) ?? []), c.policy_no]));
      const multi = [...byIncident]
        .filter(([, pols]) => pols.size >= num(p.minPolicies, 2))
        .map(([incident, pols]) => ({ incident, policies: [...pols].sort() }));
      return multi.length > 0
        ? {
            evidence: { incidents: multi },
            explanation: multi
              .map((m) => `the incident of ${m.incident} is claimed on ${m.policies.length} policies`)
              .join('; '),
          }
        : null;
    }
    case 'SHARED_CONTACT': {
      // Network flag: a phone, an address or a bank account used by at least K golden customers. Switchboards,
      // branch addresses and the insurer's own collection accounts go on the rule's exclusion list. The
      // networks of the whole set are found by one statement per rule (contextOf).
      const { contact, excluded } = networkParams(p);
      const shared = context.shared.get(rule.code)?.get(partyId) ?? [];
      const hits = shared.filter((s) => !excluded.has(s.key));
      if (hits.length === 0) return null;
      const what = { PHONE: 'phone', ADDRESS: 'address', BANK_ACCOUNT: 'bank account' }[contact];
      const evidenceKey = { PHONE: 'phones', ADDRESS: 'addresses', BANK_ACCOUNT: 'bankAccounts' }[contact];
      return {
        evidence: { [evidenceKey]: hits.map((h) => ({ key: h.key, customers: h.customers })) },
        explanation: hits.map((h) => `${what} shared by ${h.customers} unrelated customers`).join('; '),
        related: [...new Set(hits.flatMap((h) => h.parties))].filter((id) => id !== partyId),
      };
    }
    default:
      return null;
  }
}

/**
 * Per customer of the set, the phones or addresses it shares with at least `min` golden customers (itself
 * included), grouped by customer and key.
 */
async function sharedContactPoints(
  em: EntityManager,
  partyIds: readonly string[],
  kinds: string[],
  min: number,
): Promise<Map<string, Shared[]>> {
  const rows = await executeBound<(Shared & { subject: string })[]>(
    em,
    `select cp.party_id as subject, cp.search_key as key, count(distinct other.party_id)::int as customers, array_agg(distinct other.party_id::text) as parties from contact_point cp
       join contact_point other on other.search_key = cp.search_key and other.kind = cp.kind join party op on op.id = other.party_id and op.status = 'ACTIVE'
      where cp.party_id in (${marks(partyIds.length)}) and cp.kind in (${marks(kinds.length)}) and cp.search_key is not null
      group by cp.party_id, cp.search_key having count(distinct other.party_id) >= ? order by 1, 2`,
    [...partyIds, ...kinds, min],
  );
  const byParty = new Map<string, Shared[]>();
  for (const { subject, ...shared } of rows) byParty.set(subject, [...(byParty.get(subject) ?? []), shared]);
  return byParty;
}

/** Bank accounts come with payments (the debited account) and claims (the payee's account). */
const bankAccountOf = `regexp_replace(coalesce(a.data->>'bankAccount', a.data->>'payeeBankAccount'), '[^0-9A-Za-z]', '', 'g')`;

/**
 * Per customer of the set, its bank accounts used by at least `min` golden customers: the accounts of everyone
 * in the set are looked up at once (a shared account's count does not depend on who asks) and handed back to
 * the customers they belong to.
 */
async function sharedBankAccounts(
  em: EntityManager,
  accountsOf: Map<string, readonly string[]>,
  min: number,
): Promise<Map<string, Shared[]>> {
  const accounts = [...new Set([...accountsOf.values()].flat())];
  const byParty = new Map<string, Shared[]>();
  if (accounts.length === 0) return byParty;
  const rows = await executeBound<Shared[]>(
    em,
    // Per account (lateral, kept apart by OFFSET 0): an index lookup each. As one IN list the planner expected
    // half the activity table to match and scanned it, evaluating the expression on every row (~100 ms a batch).
    `select t.k as key, count(distinct c.party_id)::int as customers, array_agg(distinct c.party_id::text) as parties
       from (values ${marks(accounts.length, '(?)')}) as t(k) cross join lateral (
         select sr.party_id from activity a
           join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
           join party op on op.id = sr.party_id and op.status = 'ACTIVE'
          where ${bankAccountOf} = t.k and not a.deleted and a.kind in ('PAYMENT', 'CLAIM') offset 0) as c
      group by 1 having count(distinct c.party_id) >= ? order by 1`,
    [...accounts, min],
  );
  for (const [partyId, own] of accountsOf) {
    const mine = new Set(own);
    const shared = rows.filter((r) => mine.has(r.key));
    if (shared.length > 0) byParty.set(partyId, shared);
  }
  return byParty;
}

/** Loads what the rules read beyond each customer's facts, for the whole set: a statement per rule that needs one. */
async function contextOf(em: EntityManager, rules: readonly Rule[], facts: Map<string, Facts>): Promise<Context> {
  const context: Context = { policies: new Map(), shared: new Map() };
  const partyIds = [...facts.keys()];
  if (rules.some((r) => r.kind === 'EARLY_CLAIM'))
    context.policies = await policiesOf(em, [...new Set([...facts.values()].flatMap(claimedPolicies))]);
  for (const rule of rules) {
    if (rule.kind !== 'SHARED_CONTACT') continue;
    const { contact, min } = networkParams(rule.params);
    context.shared.set(
      rule.code,
      contact === 'BANK_ACCOUNT'
        ? await sharedBankAccounts(em, new Map([...facts].map(([id, f]) => [id, f.bankAccounts])), min)
        : await sharedContactPoints(em, partyIds, contact === 'ADDRESS' ? ['ADDRESS'] : ['MOBILE', 'LANDLINE'], min),
    );
  }
  return context;
}

/** The golden customers that now hold the phones, addresses or bank accounts an alert's evidence names. */
async function holdersOf(em: EntityManager, evidence: unknown): Promise<string[]> {
  const e = (evidence ?? {}) as {
    phones?: { key: string }[];
    addresses?: { key: string }[];
    bankAccounts?: { key: string }[];
  };
  const keys = (list?: { key: string }[]) => (list ?? []).map((x) => x.key);
  const contact = [...keys(e.phones), ...keys(e.addresses)];
  const accounts = keys(e.bankAccounts);
  const ids: string[] = [];
  if (contact.length > 0) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct party_id from contact_point where search_key in (${contact.map(() => '?').join(', ')})`,
      contact,
    );
    ids.push(...rows.map((r) => r.party_id));
  }
  if (accounts.length > 0) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
        where ${bankAccountOf} in (${accounts.map(() => '?').join(', ')}) and not a.deleted and a.kind in ('PAYMENT', 'CLAIM') and sr.party_id is not null`,
      accounts,
    );
    ids.push(...rows.map((r) => r.party_id));
  }
  return [...new Set(ids)];
}

/**
 * A rule's finding must hold for `params.holdSeconds` before its alert opens — the "for" clause of Prometheus
 * alerting rules. Rules that weigh one stream against another (claims paid against premiums paid; a customer
 * against the others sharing a phone, while their duplicates are not yet merged) see half the evidence while
 * the sources arrive, and would open alerts that close again seconds later, each published downstream.
 * A new finding is written to `alert_pending` and its customer queued for re-evaluation when the hold ends
 * (`risk_work.not_before`); an evaluation that finds it held long enough opens the alert, one that no longer
 * finds it drops it silently. 0 (the default) opens at once.
 */
export const holdSecondsOf = (rule: Rule): number => Math.ceil(Math.max(0, num(rule.params.holdSeconds, 0)));

type PendingRow = { party_id: string; rule_code: string; held: number; queued_for: number };

/**
 * Turns the OPEN changes of rules with a hold into pending findings until they have held long enough; writes
 * the pending rows and the re-evaluations their holds need. A pending row stays only while its finding is an
 * OPEN change still in its hold: every other one is cleared (the finding went away, was opened or suppressed,
 * its customer is no longer active or its rule no longer in force). Returns the changes to make now.
 */
async function holdNewFindings(
  em: EntityManager,
  changes: Change[],
  pendingOf: ReadonlyMap<string, PendingRow>,
): Promise<Change[]> {
  const made: Change[] = [];
  const held = new Set<string>();
  const starting: [string, string, number][] = [];
  const requeue: [string, string, number][] = [];
  for (const c of changes) {
    if (c.kind !== 'OPEN') {
      made.push(c);
      continue;
    }
    const hold = holdSecondsOf(c.rule);
    const pending = pendingOf.get(pairKey(c.partyId, c.rule.code));
    if (hold === 0 || (pending !== undefined && pending.held >= hold)) {
      made.push(c);
      continue;
    }
    if (pending === undefined) starting.push([c.partyId, c.rule.code, hold]);
    // Its re-evaluation was queued for another hold (the rule's changed since): queue one for this hold.
    else if (Math.abs(pending.queued_for - hold) > 0.5) requeue.push([c.partyId, c.rule.code, hold]);
    held.add(pairKey(c.partyId, c.rule.code));
  }
  const cleared = [...pendingOf.keys()].filter((k) => !held.has(k)).map((k) => k.split('\u0000') as [string, string]);
  if (cleared.length > 0)
    await executeBound(
      em,
      `delete from alert_pending where (party_id, rule_code) in (${marks(cleared.length, '(?::uuid, ?)')})`,
      cleared.flat(),
    );
  if (starting.length > 0) {
    // From the moment of writing (one reading of the clock for both), not the transaction's start: a long worker
    // round or import batch must not count its own running time as hold.
    await executeBound(
      em,
      `insert into alert_pending (party_id, rule_code, since, due_at) select v.party_id, v.rule_code, t.at, t.at + make_interval(secs => v.hold)
         from (values ${marks(starting.length, '(?::uuid, ?, ?::int)')}) as v(party_id, rule_code, hold) cross join (select clock_timestamp() as at) as t
       on conflict (party_id, rule_code) do nothing`,
      starting.flat(),
    );
  }
  if (requeue.length > 0) {
    await executeBound(
      em,
      `update alert_pending p set due_at = p.since + make_interval(secs => v.hold) from (values ${marks(requeue.length, '(?::uuid, ?, ?::int)')}) as v(party_id, rule_code, hold)
        where p.party_id = v.party_id and p.rule_code = v.rule_code`,
      requeue.flat(),
    );
  }
  // One queued re-evaluation per due time, naming its customers, by the database's clock (the worker takes work
  // whose not_before has passed, and an evaluation measures the hold by the same clock). The row has the shape
  // of QueuedWork (risk-work.ts), built in SQL from the pending rows' exact due times (risk-work.ts imports
  // this module, so queueRiskWork is not called from here).
  const due = [...starting, ...requeue].map(([partyId, ruleCode]) => [partyId, ruleCode] as const);
  if (due.length > 0) {
    await executeBound(
      em,
      `insert into risk_work (work, not_before)
       select jsonb_build_object('screen', '[]'::jsonb, 'evaluate', jsonb_agg(distinct p.party_id::text), 'activityOwners', '[]'::jsonb, 'policies', '[]'::jsonb), p.due_at
         from alert_pending p join (values ${marks(due.length, '(?::uuid, ?)')}) as v(party_id, rule_code) on p.party_id = v.party_id and p.rule_code = v.rule_code
        group by p.due_at`,
      due.flat(),
    );
  }
  return made;
}

/** The enabled rules, in code order; load once per batch and pass to evaluateAlertsForParties. */
export function enabledRules(em: EntityManager): Promise<Rule[]> {
  return executeBound<Rule[]>(
    em,
    `select code, kind, params, points, version from alert_rule where enabled order by code`,
  );
}

type OpenAlert = { id: string; party_id: string; rule_code: string; evidence: unknown };
/** What the evaluation decided for one customer and rule, written after everyone in the set was evaluated. */
type Change =
  | { kind: 'CLOSE'; partyId: string; alertId: string; ruleCode: string; reason: string }
  | { kind: 'UPDATE'; partyId: string; alertId: string; rule: Rule; finding: Finding }
  | { kind: 'OPEN'; partyId: string; rule: Rule; finding: Finding };
const pairKey = (partyId: string, ruleCode: string) => `${partyId}\u0000${ruleCode}`;

/**
 * Evaluates every enabled rule for a set of customers; returns the number of alerts opened, updated or closed.
 * `related` collects other customers a finding also concerns (the others sharing a flagged phone), for the
 * caller to evaluate too — otherwise only the customer whose change crossed the threshold would be flagged.
 * Works in slices of 500 customers, each with a constant number of statements (holdersOf aside, which runs
 * per closed network alert, rarely).
 */
export async function evaluateAlertsForParties(
  em: EntityManager,
  partyIds: readonly string[],
  topicPrefix = '',
  related?: Set<string>,
  rulesInForce?: Rule[],
): Promise<number> {
  let rules: Promise<Rule[]> | undefined = rulesInForce ? Promise.resolve(rulesInForce) : undefined;
  const rulesOnce = () => (rules ??= enabledRules(em));
  let changed = 0;
  for (const slice of chunked(uniqueIds(partyIds)))
    changed += await evaluateSlice(em, slice, topicPrefix, related, rulesOnce);
  return changed;
}

/** Evaluates every enabled rule for one customer (a set of one); returns the number of alerts opened, updated or closed. */
export async function evaluateAlerts(
  em: EntityManager,
  partyId: string,
  topicPrefix = '',
  related?: Set<string>,
  rulesInForce?: Rule[],
): Promise<number> {
  return evaluateAlertsForParties(em, [partyId], topicPrefix, related, rulesInForce);
}

async function evaluateSlice(
  em: EntityManager,
  partyIds: readonly string[],
  topicPrefix: string,
  related: Set<string> | undefined,
  rulesInForce: () => Promise<Rule[]>,
): Promise<number> {
  const statuses = await executeBound<{ id: string; status: string }[]>(
    em,
    `select id, status from party where id in (${marks(partyIds.length)})`,
    [...partyIds],
  );
  const statusOf = new Map(statuses.map((r) => [r.id, r.status]));
  const present = partyIds.filter((id) => statusOf.has(id));
  if (present.length === 0) return 0;
  // Locked in one order (customer, rule) whatever the set, as the one-customer evaluations locked them in turn.
  const openRows = await executeBound<OpenAlert[]>(
    em,
    `select id, party_id, rule_code, evidence from alert where party_id in (${marks(present.length)}) and status <> 'CLOSED' order by party_id, rule_code for update`,
    present,
  );
  const openOf = new Map<string, Map<string, OpenAlert>>();
  for (const r of openRows)
    openOf.set(r.party_id, (openOf.get(r.party_id) ?? new Map<string, OpenAlert>()).set(r.rule_code, r));
  // Findings in their hold (see holdSecondsOf): how long each has held, by the database's clock — the clock the
  // queued re-evaluation is due by — and when that re-evaluation was queued for. Locked like the alerts (after
  // them, in the same order): an evaluation that keeps a finding pending relies on the queued re-evaluation,
  // which must not decide on data the keeping transaction has not committed yet.
  const pendingRows = await executeBound<PendingRow[]>(
    em,
    `select party_id, rule_code, extract(epoch from now() - since)::float8 as held, extract(epoch from due_at - since)::float8 as queued_for
       from alert_pending where party_id in (${marks(present.length)}) order by party_id, rule_code for update`,
    present,
  );
  const pendingOf = new Map(pendingRows.map((r) => [pairKey(r.party_id, r.rule_code), r]));
  const active = present.filter((id) => statusOf.get(id) === 'ACTIVE');
  const rules = active.length > 0 ? await rulesInForce() : [];
  const facts = active.length > 0 ? await factsOfParties(em, active) : new Map<string, Facts>();
  const context = await contextOf(em, rules, facts);

  // Customers in the order given and rules in code order: the outbox gets the events in the order the
  // one-customer evaluations wrote them.
  const changes: Change[] = [];
  for (const partyId of present) {
    const open = openOf.get(partyId) ?? new Map<string, OpenAlert>();
    const status = statusOf.get(partyId);
    // Alerts whose condition no longer holds are closed by the system with the reason, not left stating evidence
    // that is gone: a merged customer's alerts (the survivor is evaluated with all the evidence), an inactive
    // customer's, and a rule's whose finding disappeared (claims left the window, a shared phone turned out to be
    // one person's after a merge).
    if (status !== 'ACTIVE') {
      for (const a of open.values())
        changes.push({
          kind: 'CLOSE',
          partyId,
          alertId: a.id,
          ruleCode: a.rule_code,
          reason: status === 'MERGED' ? 'CUSTOMER_MERGED' : 'CUSTOMER_INACTIVE',
        });
      continue;
    }
    const own = facts.get(partyId) as Facts;
    for (const rule of rules) {
      const finding = evaluateRule(partyId, rule, own, context);
      const current = open.get(rule.code);
      if (!finding) {
        if (current) {
          changes.push({
            kind: 'CLOSE',
            partyId,
            alertId: current.id,
            ruleCode: rule.code,
            reason: 'CONDITION_NO_LONGER_MET',
          });
          // Leaving a network can dissolve it for the others too: whoever still holds the keys is evaluated.
          if (rule.kind === 'SHARED_CONTACT' && related)
            for (const id of await holdersOf(em, current.evidence)) if (id !== partyId) related.add(id);
        }
        continue;
      }
      if (current) {
        if (stableJson(current.evidence) === stableJson(finding.evidence)) continue;
        // Only a finding that changed can change the others' (a new member, one fewer): unchanged, the network
        // is as its members' alerts already say, and re-evaluating all of them would cost O(network) per event.
        for (const id of finding.related ?? []) related?.add(id);
        changes.push({ kind: 'UPDATE', partyId, alertId: current.id, rule, finding });
      } else {
        for (const id of finding.related ?? []) related?.add(id);
        changes.push({ kind: 'OPEN', partyId, rule, finding });
      }
    }
  }

  // A rule closed with a suppression window is not reopened inside it.
  const opening = changes.flatMap((c) => (c.kind === 'OPEN' ? [[c.partyId, c.rule.code]] : []));
  const suppressed = new Set(
    opening.length === 0
      ? []
      : (
          await executeBound<{ party_id: string; rule_code: string }[]>(
            em,
            `select distinct party_id, rule_code from alert where status = 'CLOSED' and suppressed_until > now() and (party_id, rule_code) in (${marks(opening.length, '(?::uuid, ?)')})`,
            opening.flat(),
          )
        ).map((r) => pairKey(r.party_id, r.rule_code)),
  );
  const made = await holdNewFindings(
    em,
    changes.filter((c) => c.kind !== 'OPEN' || !suppressed.has(pairKey(c.partyId, c.rule.code))),
    pendingOf,
  );
  if (made.length === 0) return 0;

  const closes = made.flatMap((c) => (c.kind === 'CLOSE' ? [c] : []));
  if (closes.length > 0) {
    await executeBound(
      em,
      `update alert set status = 'CLOSED', closed_by = 'system', closed_reason = v.reason, updated_at = now()
         from (values ${marks(closes.length, '(?::uuid, ?::text)')}) as v(id, reason) where alert.id = v.id`,
      closes.flatMap((c) => [c.alertId, c.reason]),
    );
  }
  const updates = made.flatMap((c) => (c.kind === 'UPDATE' ? [c] : []));
  if (updates.length > 0) {
    await executeBound(
      em,
      `update alert set evidence = v.evidence, explanation = v.explanation, points = v.points, rule_version = v.rule_version, updated_at = now()
         from (values ${marks(updates.length, '(?::uuid, ?::jsonb, ?::text, ?::int, ?::int)')}) as v(id, evidence, explanation, points, rule_version) where alert.id = v.id`,
      updates.flatMap((c) => [
        c.alertId,
        JSON.stringify(c.finding.evidence),
        c.finding.explanation,
        c.rule.points,
        c.rule.version,
      ]),
    );
  }
  const opens = made.flatMap((c) => (c.kind === 'OPEN' ? [c] : []));
  const opened = new Map<string, string>();
  if (opens.length > 0) {
    const rows = await executeBound<{ id: string; party_id: string; rule_code: string }[]>(
      em,
      `insert into alert (id, party_id, rule_code, rule_version, status, points, evidence, explanation)
       values ${marks(opens.length, "(gen_random_uuid(), ?, ?, ?, 'OPEN', ?, ?::jsonb, ?)")} returning id, party_id, rule_code`,
      opens.flatMap((c) => [
        c.partyId,
        c.rule.code,
        c.rule.version,
        c.rule.points,
        JSON.stringify(c.finding.evidence),
        c.finding.explanation,
      ]),
    );
    for (const r of rows) opened.set(pairKey(r.party_id, r.rule_code), r.id);
  }
  // Every change goes to the outbox in the same transaction (published to Kafka after commit).
  const at = new Date().toISOString();
  const events = made.map((c) => {
    const [event, alertId, rule, evidence, explanation] =
      c.kind === 'CLOSE'
        ? (['ALERT_CLOSED', c.alertId, { code: c.ruleCode, version: null, points: null }, null, c.reason] as const)
        : c.kind === 'UPDATE'
          ? (['ALERT_UPDATED', c.alertId, c.rule, c.finding.evidence, c.finding.explanation] as const)
          : ([
              'ALERT_OPENED',
              opened.get(pairKey(c.partyId, c.rule.code)) as string,
              c.rule,
              c.finding.evidence,
              c.finding.explanation,
            ] as const);
    return [
      `${topicPrefix}hub.risk-alerts.v1`,
      c.partyId,
      JSON.stringify({
        event,
        alertId,
        customerId: c.partyId,
        rule: rule.code,
        ruleVersion: rule.version,
        points: rule.points,
        evidence,
        explanation,
        at,
      }),
    ];
  });
  await executeBound(
    em,
    `insert into outbox (id, topic, message_key, payload) values ${marks(events.length, '(gen_random_uuid(), ?, ?, ?::jsonb)')}`,
    events.flat(),
  );
  return made.length;
}
