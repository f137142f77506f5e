import { bestWindow } from './claim-windows.ts';
import { type Context, type Facts, type Finding, type Rule, dayDiff, daysAgo, num } from './alert-types.ts';

/** The alert rules as pure functions of a customer's facts and the set's context: no database access here. */

export const claimedPolicies = (facts: Facts) => [
  ...new Set(facts.claims.map((c) => c.policy_no).filter((x): x is string => x !== null)),
];

/** How a SHARED_CONTACT rule reads its parameters. */
export function networkParams(p: Record<string, unknown>) {
  const contact: 'PHONE' | 'ADDRESS' | 'BANK_ACCOUNT' =
    p.contact === 'ADDRESS' || p.contact === 'BANK_ACCOUNT' ? p.contact : 'PHONE';
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    contact,
    excluded: new Set([...strings(p.excludedPhones), ...strings(p.excluded)]),
    min: num(p.minCustomers, 3),
    maxCustomers: num(p.maxCustomers, 10),
  };
}

/**
 * The kinds that judge a customer's claims: each finds nothing for a customer without a claim (a whole-store
 * rescan relies on it to skip those customers, rescan-candidates.ts). A kind added here must keep to that.
 */
export const CLAIM_RULE_KINDS: ReadonlySet<string> = new Set([
  'CLAIMS_IN_WINDOW',
  'CUMULATIVE_PAID',
  'LOSS_RATIO',
  'EARLY_CLAIM',
  'MULTI_POLICY_INCIDENT',
]);

export function evaluateRule(partyId: string, rule: Rule, facts: Facts, context: Context): Finding | null {
  const p = rule.params;
  const claims = facts.claims;
  switch (rule.kind) {
    case 'CLAIMS_IN_WINDOW': {
      const windowDays = num(p.windowDays, 365);
      const best = bestWindow(claims, windowDays, num(p.lookBackDays, 1095), () => 1);
      const min = num(p.minClaims, 3);
      return best && best.total >= min
        ? {
            evidence: { claims: best.claims.map((c) => c.key).sort(), from: best.from, to: best.to },
            explanation: `${best.total} claims within ${windowDays} days, ${best.from} to ${best.to} (threshold ${min})`,
          }
        : null;
    }
    case 'CUMULATIVE_PAID': {
      const windowDays = num(p.windowDays, 730);
      const paidClaims = claims.filter((c) => c.paid > 0);
      const best = bestWindow(paidClaims, windowDays, num(p.lookBackDays, 1095), (c) => c.paid);
      const min = num(p.minPaid, 100_000);
      return best && best.total >= min
        ? {
            evidence: {
              claims: best.claims.map((c) => c.key).sort(),
              paid: best.total.toFixed(2),
              from: best.from,
              to: best.to,
            },
            explanation: `claims paid ${best.total.toFixed(2)} CNY within ${windowDays} days, ${best.from} to ${best.to} (threshold ${min})`,
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
      // Network flag: a phone, an address or a bank account used by at least K unrelated golden customers
      // (relatives and housemates count as one; network-sharers.ts). Switchboards, branch addresses and the
      // insurer's own collection accounts are excluded: by frequency (proposed, decided by a risk admin) or on
      // the rule's own list. The networks of the whole set are found by one statement per rule (contextOf).
      const { contact, excluded } = networkParams(p);
      const shared = context.shared.get(rule.code)?.get(partyId) ?? [];
      const hits = shared.filter((s) => !excluded.has(s.key));
      if (hits.length === 0) return null;
      const what = { PHONE: 'phone', ADDRESS: 'address', BANK_ACCOUNT: 'bank account' }[contact];
      const evidenceKey = { PHONE: 'phones', ADDRESS: 'addresses', BANK_ACCOUNT: 'bankAccounts' }[contact];
      return {
        evidence: {
          [evidenceKey]: hits.map((h) => ({
            key: h.key,
            customers: h.customers,
            holders: h.holders ?? h.customers,
            sharers: h.sharers ?? [],
          })),
        },
        explanation: hits
          .map((h) => {
            const together = (h.holders ?? h.customers) - h.customers;
            return `${what} shared by ${h.customers} unrelated customers${together > 0 ? ` (${h.holders} holders; ${together} counted with a relative or housemate)` : ''}`;
          })
          .join('; '),
        related: [...new Set(hits.flatMap((h) => h.parties))].filter((id) => id !== partyId),
      };
    }
    default:
      return null;
  }
}
