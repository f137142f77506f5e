import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * High-claim alert rules, evaluated incrementally for one customer whenever a claim, payment or policy change of
 * theirs is applied (and for everyone by `hub risk rescan`). Rules are rows of `alert_rule` (parameters, points,
 * enabled, versioned); this module only knows how each kind is computed. One alert per customer and rule stays
 * open and is updated as its evidence grows; a closed alert with a suppression window is not reopened inside
 * it. Every opened or updated alert is written to the outbox in the same transaction (published to Kafka).
 */
type Rule = { code: string; kind: string; params: Record<string, unknown>; points: number; version: number };
type Claim = { key: string; policy_no: string | null; reported: Date | null; incident: string | null; paid: number; claimed: number; status: string | null };
type Finding = { evidence: Record<string, unknown>; explanation: string };

const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
const dayDiff = (a: string, b: string) => Math.round((Date.parse(a) - Date.parse(b)) / 86_400_000);

async function claimsOf(em: EntityManager, partyId: string): Promise<Claim[]> {
  const rows = await em.execute<{ key: string; policy_no: string | null; reported: Date | null; incident: string | null; paid: string | null; claimed: string | null; status: string | null }[]>(
    `select a.source_key as key, a.policy_no, a.occurred_at as reported, a.data->>'incidentDate' as incident, a.data->>'paidAmount' as paid, a.data->>'claimedAmount' as claimed, a.status
       from activity a where a.kind = 'CLAIM' and not a.deleted
        and (a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = ? and not deleted)`,
    [partyId],
  );
  return rows.map((r) => ({ ...r, reported: r.reported ? new Date(r.reported) : null, paid: Number(r.paid ?? 0), claimed: Number(r.claimed ?? 0) }));
}

async function evaluateRule(em: EntityManager, partyId: string, rule: Rule, claims: Claim[]): Promise<Finding | null> {
  const p = rule.params;
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
      const [prem] = await em.execute<{ total: string | null; payments: string[] | null }[]>(
        `select sum(a.amount)::text as total, array_agg(a.source_key order by a.source_key) as payments from activity a
          where a.kind = 'PAYMENT' and a.type = 'PREMIUM_PAID' and not a.deleted and a.occurred_at >= ?
            and (a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = ? and not deleted)`,
        [since, partyId],
      );
      const premiums = Number(prem?.total ?? 0);
      if (premiums < num(p.minPremium, 1000)) return null;
      const ratio = paid / premiums;
      return ratio >= num(p.minRatio, 3)
        ? { evidence: { paid: paid.toFixed(2), premiums: premiums.toFixed(2), ratio: Number(ratio.toFixed(2)), payments: prem?.payments ?? [] }, explanation: `loss ratio ${ratio.toFixed(2)} (claims paid ${paid.toFixed(2)} / premiums ${premiums.toFixed(2)}) over ${num(p.windowDays, 730)} days (threshold ${num(p.minRatio, 3)})` }
        : null;
    }
    case 'EARLY_CLAIM': {
      const within = num(p.withinDays, 90);
      const keys = [...new Set(claims.map((c) => c.policy_no).filter((x): x is string => x !== null))];
      if (keys.length === 0) return null;
      // Commencement, or reinstatement: when a lapsed policy is reinstated (status RI) the time of that change
      // restarts the clock, as the contestability period does.
      const policies = await em.execute<{ policy_no: string; commencement: string | null; status: string | null; changed: Date | null }[]>(
        `select policy_no, to_char(commencement_date, 'YYYY-MM-DD') as commencement, status, source_time as changed from policy where not deleted and policy_no in (${keys.map(() => '?').join(', ')})`,
        keys,
      );
      const early = claims.flatMap((c) => {
        const pol = policies.find((x) => x.policy_no === c.policy_no);
        if (!pol || !c.incident) return [];
        const start = pol.status === 'RI' && pol.changed ? new Date(pol.changed).toISOString().slice(0, 10) : pol.commencement;
        if (!start) return [];
        const d = dayDiff(c.incident, start);
        return d >= 0 && d <= within ? [{ claim: c.key, policy: pol.policy_no, start, basis: pol.status === 'RI' ? 'REINSTATEMENT' : 'COMMENCEMENT', days: d }] : [];
      });
      return early.length > 0 ? { evidence: { early }, explanation: early.map((e) => `claim ${e.claim} incident ${e.days} days after ${e.basis.toLowerCase()} of policy ${e.policy} (threshold ${within})`).join('; ') } : null;
    }
    case 'MULTI_POLICY_INCIDENT': {
      const byIncident = new Map<string, Set<string>>();
      for (const c of claims) if (c.incident && c.policy_no) byIncident.set(c.incident, new Set([...(byIncident.get(c.incident) ?? []), c.policy_no]));
      const multi = [...byIncident].filter(([, pols]) => pols.size >= num(p.minPolicies, 2)).map(([incident, pols]) => ({ incident, policies: [...pols].sort() }));
      return multi.length > 0 ? { evidence: { incidents: multi }, explanation: multi.map((m) => `the incident of ${m.incident} is claimed on ${m.policies.length} policies`).join('; ') } : null;
    }
    case 'SHARED_CONTACT': {
      const excluded = Array.isArray(p.excludedPhones) ? p.excludedPhones.filter((x): x is string => typeof x === 'string') : [];
      const shared = await em.execute<{ key: string; customers: number }[]>(
        `select cp.search_key as key, count(distinct other.party_id)::int as customers from contact_point cp
           join contact_point other on other.search_key = cp.search_key join party op on op.id = other.party_id and op.status = 'ACTIVE'
          where cp.party_id = ? and cp.kind in ('MOBILE','LANDLINE') and cp.search_key is not null
          group by cp.search_key having count(distinct other.party_id) >= ?`,
        [partyId, num(p.minCustomers, 3)],
      );
      const hits = shared.filter((s) => !excluded.includes(s.key));
      return hits.length > 0 ? { evidence: { phones: hits }, explanation: hits.map((h) => `phone shared by ${h.customers} unrelated customers`).join('; ') } : null;
    }
    default:
      return null;
  }
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export async function evaluateAlerts(em: EntityManager, partyId: string, topicPrefix = ''): Promise<number> {
  const [party] = await em.execute<{ status: string }[]>(`select status from party where id = ?`, [partyId]);
  if (!party || party.status !== 'ACTIVE') return 0;
  const rules = await em.execute<Rule[]>(`select code, kind, params, points, version from alert_rule where enabled order by code`);
  const claims = await claimsOf(em, partyId);
  let changed = 0;
  for (const rule of rules) {
    const finding = await evaluateRule(em, partyId, rule, claims);
    if (!finding) continue;
    const [open] = await em.execute<{ id: string; evidence: unknown; status: string }[]>(
      `select id, evidence, status from alert where party_id = ? and rule_code = ? and status <> 'CLOSED' for update`,
      [partyId, rule.code],
    );
    let alertId: string;
    let event: string;
    if (open) {
      if (stable(open.evidence) === stable(finding.evidence)) continue;
      alertId = open.id;
      event = 'ALERT_UPDATED';
      await em.execute(`update alert set evidence = ?::jsonb, explanation = ?, points = ?, rule_version = ?, updated_at = now() where id = ?`, [JSON.stringify(finding.evidence), finding.explanation, rule.points, rule.version, open.id]);
    } else {
      const [suppressed] = await em.execute<{ n: number }[]>(`select count(*)::int as n from alert where party_id = ? and rule_code = ? and status = 'CLOSED' and suppressed_until > now()`, [partyId, rule.code]);
      if ((suppressed?.n ?? 0) > 0) continue;
      const [row] = await em.execute<{ id: string }[]>(
        `insert into alert (id, party_id, rule_code, rule_version, status, points, evidence, explanation) values (gen_random_uuid(), ?, ?, ?, 'OPEN', ?, ?::jsonb, ?) returning id`,
        [partyId, rule.code, rule.version, rule.points, JSON.stringify(finding.evidence), finding.explanation],
      );
      alertId = row?.id as string;
      event = 'ALERT_OPENED';
    }
    await em.execute(`insert into outbox (id, topic, message_key, payload) values (gen_random_uuid(), ?, ?, ?::jsonb)`, [
      `${topicPrefix}hub.risk-alerts.v1`,
      partyId,
      JSON.stringify({ event, alertId, customerId: partyId, rule: rule.code, ruleVersion: rule.version, points: rule.points, evidence: finding.evidence, explanation: finding.explanation, at: new Date().toISOString() }),
    ]);
    changed += 1;
  }
  return changed;
}
