import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * High-claim alert rules, evaluated incrementally for one customer whenever a claim, payment or policy change of
 * theirs is applied (and for everyone by `hub risk rescan`). Rules are rows of `alert_rule` (parameters, points,
 * enabled, versioned); this module only knows how each kind is computed. One alert per customer and rule stays
 * open and is updated as its evidence grows; a closed alert with a suppression window is not reopened inside
 * it. Every opened or updated alert is written to the outbox in the same transaction (published to Kafka).
 */
export type Rule = { code: string; kind: string; params: Record<string, unknown>; points: number; version: number };
type Claim = { key: string; policy_no: string | null; reported: Date | null; incident: string | null; paid: number; claimed: number; status: string | null };
/** `related`: other customers the same finding concerns (a shared phone flags everyone who shares it). */
type Finding = { evidence: Record<string, unknown>; explanation: string; related?: string[] };

const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
const dayDiff = (a: string, b: string) => Math.round((Date.parse(a) - Date.parse(b)) / 86_400_000);

type Payment = { key: string; type: string | null; at: Date | null; amount: number };
/** Everything the claim rules read about one customer, loaded once per evaluation. */
type Facts = { claims: Claim[]; payments: Payment[]; bankAccounts: string[] };

/**
 * The customer's claims and payments, through the source records linked to them. Two steps with literal keys
 * rather than one join: the plan stays an index lookup even on tables whose statistics lag a bulk load.
 */
async function factsOf(em: EntityManager, partyId: string): Promise<Facts> {
  const records = await em.execute<{ system: string; source_id: string }[]>(`select system, source_id from source_record where party_id = ? and not deleted`, [partyId]);
  if (records.length === 0) return { claims: [], payments: [], bankAccounts: [] };
  const rows = await em.execute<
    { kind: string; key: string; policy_no: string | null; at: Date | null; type: string | null; status: string | null; amount: string | null; incident: string | null; paid: string | null; claimed: string | null; account: string | null }[]
  >(
    `select a.kind, a.source_key as key, a.policy_no, a.occurred_at as at, a.type, a.status, a.amount::text as amount, a.data->>'incidentDate' as incident,
            a.data->>'paidAmount' as paid, a.data->>'claimedAmount' as claimed, ${bankAccountOf} as account
       from activity a where a.kind in ('CLAIM', 'PAYMENT') and not a.deleted and (a.party_system, a.party_source_id) in (${records.map(() => '(?, ?)').join(', ')})`,
    records.flatMap((r) => [r.system, r.source_id]),
  );
  const date = (v: Date | null) => (v ? new Date(v) : null);
  return {
    claims: rows.filter((r) => r.kind === 'CLAIM').map((r) => ({ key: r.key, policy_no: r.policy_no, reported: date(r.at), incident: r.incident, paid: Number(r.paid ?? 0), claimed: Number(r.claimed ?? 0), status: r.status })),
    payments: rows.filter((r) => r.kind === 'PAYMENT').map((r) => ({ key: r.key, type: r.type, at: date(r.at), amount: Number(r.amount ?? 0) })),
    bankAccounts: [...new Set(rows.map((r) => r.account).filter((a): a is string => a !== null && a !== ''))].sort(),
  };
}

async function evaluateRule(em: EntityManager, partyId: string, rule: Rule, facts: Facts): Promise<Finding | null> {
  const p = rule.params;
  const claims = facts.claims;
  switch (rule.kind) {
    case 'CLAIMS_IN_WINDOW': {
      const since = daysAgo(num(p.windowDays, 365));
      const inWindow = claims.filter((c) => c.reported && c.reported >= since);
      return inWindow.length >= num(p.minClaims, 3)
        ? { evidence: { claims: inWindow.map((c) => c.key).sort() }, explanation: `${inWindow.length} claims in the last ${num(p.windowDays, 365)} days (threshold ${num(p.minClaims, 3)})` }
        : null;
    }
    case 'CUMULATIVE_PAID': {
      const since = daysAgo(num(p.windowDays, 730));
      const inWindow = claims.filter((c) => c.reported && c.reported >= since && c.paid > 0);
      const paid = inWindow.reduce((s, c) => s + c.paid, 0);
      return paid >= num(p.minPaid, 100_000)
        ? { evidence: { claims: inWindow.map((c) => c.key).sort(), paid: paid.toFixed(2) }, explanation: `claims paid ${paid.toFixed(2)} CNY in ${num(p.windowDays, 730)} days (threshold ${num(p.minPaid, 100_000)})` }
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
        ? { evidence: { paid: paid.toFixed(2), premiums: premiums.toFixed(2), ratio: Number(ratio.toFixed(2)), payments: premiumPayments.map((x) => x.key).sort() }, explanation: `loss ratio ${ratio.toFixed(2)} (claims paid ${paid.toFixed(2)} / premiums ${premiums.toFixed(2)}) over ${num(p.windowDays, 730)} days (threshold ${num(p.minRatio, 3)})` }
        : null;
    }
    case 'EARLY_CLAIM': {
      const within = num(p.withinDays, 90);
      const keys = [...new Set(claims.map((c) => c.policy_no).filter((x): x is string => x !== null))];
      if (keys.length === 0) return null;
      // The clock starts at commencement and restarts at a reinstatement (status changed to RI) or a sum-insured
      // increase, as the contestability period does: the latest of these on or before the incident counts.
      const policies = await em.execute<{ policy_no: string; commencement: string | null; reinstated: string | null; increased: string | null }[]>(
        `select policy_no, to_char(commencement_date, 'YYYY-MM-DD') as commencement, to_char(reinstated_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as reinstated,
                to_char(sum_insured_increased_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as increased
           from policy where not deleted and policy_no in (${keys.map(() => '?').join(', ')})`,
        keys,
      );
      const early = claims.flatMap((c) => {
        const pol = policies.find((x) => x.policy_no === c.policy_no);
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
        return d <= within ? [{ claim: c.key, policy: pol.policy_no, start: latest.start, basis: latest.basis, days: d }] : [];
      });
      return early.length > 0 ? { evidence: { early }, explanation: early.map((e) => `claim ${e.claim} incident ${e.days} days after ${e.basis.toLowerCase().replaceAll('_', ' ')} of policy ${e.policy} (threshold ${within})`).join('; ') } : null;
    }
    case 'MULTI_POLICY_INCIDENT': {
      const byIncident = new Map<string, Set<string>>();
      for (const c of claims) if (c.incident && c.policy_no) byIncident.set(c.incident, new Set([...(byIncident.get(c.incident) ?? []), c.policy_no]));
      const multi = [...byIncident].filter(([, pols]) => pols.size >= num(p.minPolicies, 2)).map(([incident, pols]) => ({ incident, policies: [...pols].sort() }));
      return multi.length > 0 ? { evidence: { incidents: multi }, explanation: multi.map((m) => `the incident of ${m.incident} is claimed on ${m.policies.length} policies`).join('; ') } : null;
    }
    case 'SHARED_CONTACT': {
      // Network flag: a phone, an address or a bank account used by at least K golden customers. Switchboards,
      // branch addresses and the insurer's own collection accounts go on the rule's exclusion list.
      const contact = p.contact === 'ADDRESS' || p.contact === 'BANK_ACCOUNT' ? p.contact : 'PHONE';
      const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      const excluded = new Set([...strings(p.excludedPhones), ...strings(p.excluded)]);
      const min = num(p.minCustomers, 3);
      const shared = contact === 'BANK_ACCOUNT' ? await sharedBankAccounts(em, facts.bankAccounts, min) : await sharedContactPoints(em, partyId, contact === 'ADDRESS' ? ['ADDRESS'] : ['MOBILE', 'LANDLINE'], min);
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

type Shared = { key: string; customers: number; parties: string[] };

async function sharedContactPoints(em: EntityManager, partyId: string, kinds: string[], min: number): Promise<Shared[]> {
  return em.execute<Shared[]>(
    `select cp.search_key as key, count(distinct other.party_id)::int as customers, array_agg(distinct other.party_id::text) as parties from contact_point cp
       join contact_point other on other.search_key = cp.search_key and other.kind = cp.kind join party op on op.id = other.party_id and op.status = 'ACTIVE'
      where cp.party_id = ? and cp.kind in (${kinds.map(() => '?').join(', ')}) and cp.search_key is not null
      group by cp.search_key having count(distinct other.party_id) >= ? order by 1`,
    [partyId, ...kinds, min],
  );
}

/** Bank accounts come with payments (the debited account) and claims (the payee's account). */
const bankAccountOf = `regexp_replace(coalesce(a.data->>'bankAccount', a.data->>'payeeBankAccount'), '[^0-9A-Za-z]', '', 'g')`;

async function sharedBankAccounts(em: EntityManager, accounts: readonly string[], min: number): Promise<Shared[]> {
  if (accounts.length === 0) return [];
  return em.execute<Shared[]>(
    `select ${bankAccountOf} as key, count(distinct sr.party_id)::int as customers, array_agg(distinct sr.party_id::text) as parties from activity a
       join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
       join party op on op.id = sr.party_id and op.status = 'ACTIVE'
      where ${bankAccountOf} in (${accounts.map(() => '?').join(', ')}) and not a.deleted and a.kind in ('PAYMENT', 'CLAIM')
      group by 1 having count(distinct sr.party_id) >= ? order by 1`,
    [...accounts, min],
  );
}

/** The golden customers that now hold the phones, addresses or bank accounts an alert's evidence names. */
async function holdersOf(em: EntityManager, evidence: unknown): Promise<string[]> {
  const e = (evidence ?? {}) as { phones?: { key: string }[]; addresses?: { key: string }[]; bankAccounts?: { key: string }[] };
  const keys = (list?: { key: string }[]) => (list ?? []).map((x) => x.key);
  const contact = [...keys(e.phones), ...keys(e.addresses)];
  const accounts = keys(e.bankAccounts);
  const ids: string[] = [];
  if (contact.length > 0) {
    const rows = await em.execute<{ party_id: string }[]>(`select distinct party_id from contact_point where search_key in (${contact.map(() => '?').join(', ')})`, contact);
    ids.push(...rows.map((r) => r.party_id));
  }
  if (accounts.length > 0) {
    const rows = await em.execute<{ party_id: string }[]>(
      `select distinct sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
        where ${bankAccountOf} in (${accounts.map(() => '?').join(', ')}) and not a.deleted and a.kind in ('PAYMENT', 'CLAIM') and sr.party_id is not null`,
      accounts,
    );
    ids.push(...rows.map((r) => r.party_id));
  }
  return [...new Set(ids)];
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Evaluates every enabled rule for one customer; returns the number of alerts opened or updated. `related`
 * collects other customers a finding also concerns (the others sharing a flagged phone), for the caller to
 * evaluate too — otherwise only the customer whose change crossed the threshold would be flagged.
 */
/** The enabled rules, in code order; load once per batch and pass to evaluateAlerts. */
export function enabledRules(em: EntityManager): Promise<Rule[]> {
  return em.execute<Rule[]>(`select code, kind, params, points, version from alert_rule where enabled order by code`);
}

export async function evaluateAlerts(em: EntityManager, partyId: string, topicPrefix = '', related?: Set<string>, rulesInForce?: Rule[]): Promise<number> {
  const [party] = await em.execute<{ status: string }[]>(`select status from party where id = ?`, [partyId]);
  if (!party) return 0;
  const openRows = await em.execute<{ id: string; rule_code: string; evidence: unknown }[]>(
    `select id, rule_code, evidence from alert where party_id = ? and status <> 'CLOSED' for update`,
    [partyId],
  );
  const open = new Map(openRows.map((r) => [r.rule_code, r]));
  const publish = (event: string, alertId: string, rule: { code: string; version: number | null; points: number | null }, evidence: unknown, explanation: string) =>
    em.execute(`insert into outbox (id, topic, message_key, payload) values (gen_random_uuid(), ?, ?, ?::jsonb)`, [
      `${topicPrefix}hub.risk-alerts.v1`,
      partyId,
      JSON.stringify({ event, alertId, customerId: partyId, rule: rule.code, ruleVersion: rule.version, points: rule.points, evidence, explanation, at: new Date().toISOString() }),
    ]);
  // Alerts whose condition no longer holds are closed by the system with the reason, not left stating evidence
  // that is gone: a merged customer's alerts (the survivor is evaluated with all the evidence), an inactive
  // customer's, and a rule's whose finding disappeared (claims left the window, a shared phone turned out to be
  // one person's after a merge).
  const close = async (alertId: string, ruleCode: string, reason: string) => {
    await em.execute(`update alert set status = 'CLOSED', closed_by = 'system', closed_reason = ?, updated_at = now() where id = ?`, [reason, alertId]);
    await publish('ALERT_CLOSED', alertId, { code: ruleCode, version: null, points: null }, null, reason);
  };
  if (party.status !== 'ACTIVE') {
    for (const a of open.values()) await close(a.id, a.rule_code, party.status === 'MERGED' ? 'CUSTOMER_MERGED' : 'CUSTOMER_INACTIVE');
    return open.size;
  }
  const rules = rulesInForce ?? (await enabledRules(em));
  const facts = await factsOf(em, partyId);
  let changed = 0;
  for (const rule of rules) {
    const finding = await evaluateRule(em, partyId, rule, facts);
    const current = open.get(rule.code);
    if (!finding) {
      if (current) {
        await close(current.id, rule.code, 'CONDITION_NO_LONGER_MET');
        changed += 1;
        // Leaving a network can dissolve it for the others too: whoever still holds the keys is evaluated.
        if (rule.kind === 'SHARED_CONTACT' && related) for (const id of await holdersOf(em, current.evidence)) if (id !== partyId) related.add(id);
      }
      continue;
    }
    let alertId: string;
    let event: string;
    if (current) {
      if (stable(current.evidence) === stable(finding.evidence)) continue;
      // Only a finding that changed can change the others' (a new member, one fewer): unchanged, the network
      // is as its members' alerts already say, and re-evaluating all of them would cost O(network) per event.
      for (const id of finding.related ?? []) related?.add(id);
      alertId = current.id;
      event = 'ALERT_UPDATED';
      await em.execute(`update alert set evidence = ?::jsonb, explanation = ?, points = ?, rule_version = ?, updated_at = now() where id = ?`, [JSON.stringify(finding.evidence), finding.explanation, rule.points, rule.version, current.id]);
    } else {
      for (const id of finding.related ?? []) related?.add(id);
      const [suppressed] = await em.execute<{ n: number }[]>(`select count(*)::int as n from alert where party_id = ? and rule_code = ? and status = 'CLOSED' and suppressed_until > now()`, [partyId, rule.code]);
      if ((suppressed?.n ?? 0) > 0) continue;
      const [row] = await em.execute<{ id: string }[]>(
        `insert into alert (id, party_id, rule_code, rule_version, status, points, evidence, explanation) values (gen_random_uuid(), ?, ?, ?, 'OPEN', ?, ?::jsonb, ?) returning id`,
        [partyId, rule.code, rule.version, rule.points, JSON.stringify(finding.evidence), finding.explanation],
      );
      alertId = row?.id as string;
      event = 'ALERT_OPENED';
    }
    await publish(event, alertId, rule, finding.evidence, finding.explanation);
    changed += 1;
  }
  return changed;
}
