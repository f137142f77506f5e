import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks, uniqueIds } from '../db/sql-sets.ts';
import type { Condition, Lifecycle, Metric, ProgrammeConfig, Thresholds } from './config.ts';

/**
 * Value, lifecycle, tier and segments of golden customers, derived set-based (a constant number of statements per
 * 500 customers) from what the store holds: the policies they hold as policyholder (current role), the premiums
 * they paid and the claims they made (activities of the source records linked to them). Written to
 * `customer_value` only where something changed, so a recompute of an unchanged customer writes nothing.
 */
export type CustomerValue = {
  annualisedPremium: number;
  totalPremiumPaid: number;
  firstPolicyDate: string | null;
  tenureDays: number | null;
  policiesInForce: number;
  policiesTotal: number;
  claimsCount: number;
  claimsPaid: number;
  lossRatio: number | null;
  orphanedPolicies: number;
  lifecycle: Lifecycle;
  tier: string;
  segments: string[];
};

/** Statuses of a policy in force (core-policy STATCODE): in force, reinstated. */
export const inForceStatuses = ['IF', 'RI'];
const annualFactor: Record<string, number> = { ANNUAL: 1, MONTHLY: 12 };

type HeldPolicy = {
  party_id: string;
  key: string;
  status: string | null;
  premium: string | null;
  billing_frequency: string | null;
  commencement: string | null;
  paid_to: string | null;
  orphaned: boolean;
};
type Money = { party_id: string; paid: string; refunded: string; claims: number; claims_paid: string };

export const dayNumber = (iso: string): number => Math.floor(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / 86_400_000);

/** Today in China Standard Time (the insurer's calendar), as YYYY-MM-DD. */
export async function today(em: EntityManager): Promise<string> {
  const [r] = await executeBound<{ today: string }[]>(
    em,
    `select to_char((now() at time zone 'Asia/Shanghai')::date, 'YYYY-MM-DD') as today`,
  );
  return (r as { today: string }).today;
}

/** Recomputes and stores the value of these golden customers; returns how many rows changed. */
export async function refreshValues(
  em: EntityManager,
  partyIds: Iterable<string>,
  config: ProgrammeConfig,
  day: string,
): Promise<number> {
  let changed = 0;
  for (const ids of chunked(uniqueIds(partyIds).sort(), 500)) changed += await refreshChunk(em, ids, config, day);
  return changed;
}

async function refreshChunk(em: EntityManager, ids: string[], config: ProgrammeConfig, day: string): Promise<number> {
  const parties = await executeBound<{ id: string; status: string }[]>(
    em,
    `select id::text as id, status from party where id in (${marks(ids.length)})`,
    ids,
  );
  const active = parties.filter((p) => p.status === 'ACTIVE').map((p) => p.id);
  const gone = ids.filter((id) => !active.includes(id));
  let changed = 0;
  if (gone.length > 0) {
    const removed = await executeBound<{ party_id: string }[]>(
      em,
      `delete from customer_value where party_id in (${marks(gone.length)}) returning party_id`,
      gone,
    );
    changed += removed.length;
  }
  if (active.length === 0) return changed;
  const records = await executeBound<{ party_id: string; system: string; source_id: string }[]>(
    em,
    `select party_id::text as party_id, system, source_id from source_record where party_id in (${marks(active.length)}) and not deleted`,
    active,
  );
  const held: HeldPolicy[] = [];
  const money = new Map<string, Money>();
  if (records.length > 0) {
    const values = `(values ${marks(records.length, '(?, ?, ?)')}) as v(system, source_id, party_id)`;
    const params = records.flatMap((r) => [r.system, r.source_id, r.party_id]);
    held.push(
      ...(await executeBound<HeldPolicy[]>(
        em,
        `select v.party_id, pol.system || '/' || pol.policy_no as key, pol.status, pol.premium::text as premium, pol.billing_frequency,
                to_char(pol.commencement_date, 'YYYY-MM-DD') as commencement, to_char(pol.paid_to_date, 'YYYY-MM-DD') as paid_to,
                coalesce(ag.departed_on <= (now() at time zone 'Asia/Shanghai')::date, false) as orphaned
           from ${values}
           join policy_role pr on pr.system = v.system and pr.client_source_id = v.source_id and pr.role = 'POLICYHOLDER' and pr.current and not pr.deleted
           join policy pol on pol.system = pr.system and pol.policy_no = pr.policy_no and not pol.deleted
           left join agent ag on ag.code = pol.agent_code`,
        params,
      )),
    );
    const sums = await executeBound<Money[]>(
      em,
      `select v.party_id,
              coalesce(sum(a.amount) filter (where a.kind = 'PAYMENT' and a.type = 'PREMIUM_PAID' and coalesce(a.status, '') <> 'FAILED'), 0)::text as paid,
              coalesce(sum(a.amount) filter (where a.kind = 'PAYMENT' and a.type = 'REFUND' and coalesce(a.status, '') <> 'FAILED'), 0)::text as refunded,
              (count(*) filter (where a.kind = 'CLAIM' and coalesce(a.status, '') <> 'WITHDRAWN'))::int as claims,
              coalesce(sum(case when a.data->>'paidAmount' ~ '^[0-9]+(\\.[0-9]+)?$' then (a.data->>'paidAmount')::numeric end)
                filter (where a.kind = 'CLAIM' and a.status in ('PAID', 'CLOSED')), 0)::text as claims_paid
         from ${values}
         join activity a on a.party_system = v.system and a.party_source_id = v.source_id and not a.deleted and a.kind in ('PAYMENT', 'CLAIM')
        group by v.party_id`,
      params,
    );
    for (const s of sums) {
      const m = money.get(s.party_id);
      if (!m) money.set(s.party_id, s);
      else
        money.set(s.party_id, {
          party_id: s.party_id,
          paid: String(Number(m.paid) + Number(s.paid)),
          refunded: String(Number(m.refunded) + Number(s.refunded)),
          claims: m.claims + s.claims,
          claims_paid: String(Number(m.claims_paid) + Number(s.claims_paid)),
        });
    }
  }
  const heldBy = new Map<string, Map<string, HeldPolicy>>();
  for (const h of held) {
    const mine = heldBy.get(h.party_id) ?? new Map<string, HeldPolicy>();
    heldBy.set(h.party_id, mine);
    mine.set(h.key, h); // a customer holding a policy through two of its records counts it once
  }
  const rows = active.map((id) => {
    const v = valueOf([...(heldBy.get(id)?.values() ?? [])], money.get(id), config, day);
    return { id, v };
  });
  for (const part of chunked(rows, 1000)) {
    // One array per column (unnest): a constant 14 parameters whatever the number of rows.
    const col = <T>(f: (v: CustomerValue) => T) => part.map(({ v }) => f(v));
    const written = await executeBound<{ party_id: string }[]>(
      em,
      `insert into customer_value as t (party_id, annualised_premium, total_premium_paid, first_policy_date, policies_in_force, policies_total,
         claims_count, claims_paid, loss_ratio, orphaned_policies, lifecycle, tier, segments, config_version)
       select u.party_id, u.annualised_premium, u.total_premium_paid, u.first_policy_date, u.policies_in_force, u.policies_total,
              u.claims_count, u.claims_paid, u.loss_ratio, u.orphaned_policies, u.lifecycle, u.tier,
              coalesce(string_to_array(nullif(u.segments, ''), ','), '{}'), ?::int
         from unnest(?::uuid[], ?::numeric[], ?::numeric[], ?::date[], ?::int[], ?::int[], ?::int[], ?::numeric[], ?::numeric[], ?::int[],
                     ?::text[], ?::text[], ?::text[])
           as u(party_id, annualised_premium, total_premium_paid, first_policy_date, policies_in_force, policies_total, claims_count,
                claims_paid, loss_ratio, orphaned_policies, lifecycle, tier, segments)
       on conflict (party_id) do update set annualised_premium = excluded.annualised_premium, total_premium_paid = excluded.total_premium_paid,
         first_policy_date = excluded.first_policy_date, policies_in_force = excluded.policies_in_force, policies_total = excluded.policies_total,
         claims_count = excluded.claims_count, claims_paid = excluded.claims_paid, loss_ratio = excluded.loss_ratio,
         orphaned_policies = excluded.orphaned_policies, lifecycle = excluded.lifecycle, tier = excluded.tier, segments = excluded.segments,
         config_version = excluded.config_version, computed_at = now()
       where (t.annualised_premium, t.total_premium_paid, t.first_policy_date, t.policies_in_force, t.policies_total, t.claims_count, t.claims_paid,
              t.loss_ratio, t.orphaned_policies, t.lifecycle, t.tier, t.segments, t.config_version)
         is distinct from (excluded.annualised_premium, excluded.total_premium_paid, excluded.first_policy_date, excluded.policies_in_force,
              excluded.policies_total, excluded.claims_count, excluded.claims_paid, excluded.loss_ratio, excluded.orphaned_policies,
              excluded.lifecycle, excluded.tier, excluded.segments, excluded.config_version)
       returning party_id`,
      [
        config.version,
        part.map((r) => r.id),
        col((v) => v.annualisedPremium.toFixed(2)),
        col((v) => v.totalPremiumPaid.toFixed(2)),
        col((v) => v.firstPolicyDate),
        col((v) => v.policiesInForce),
        col((v) => v.policiesTotal),
        col((v) => v.claimsCount),
        col((v) => v.claimsPaid.toFixed(2)),
        col((v) => (v.lossRatio === null ? null : v.lossRatio.toFixed(4))),
        col((v) => v.orphanedPolicies),
        col((v) => v.lifecycle),
        col((v) => v.tier),
        col((v) => v.segments.join(',')),
      ],
    );
    changed += written.length;
  }
  return changed;
}

/** The value of one customer from the policies they hold and their money movements (pure). */
export function valueOf(
  policies: readonly Omit<HeldPolicy, 'party_id' | 'key'>[],
  money: Omit<Money, 'party_id'> | undefined,
  config: ProgrammeConfig,
  day: string,
): CustomerValue {
  const t = config.thresholds;
  const todayN = dayNumber(day);
  const inForce = policies.filter((p) => p.status !== null && inForceStatuses.includes(p.status));
  const annualisedPremium = inForce.reduce(
    (sum, p) => sum + Number(p.premium ?? 0) * (annualFactor[p.billing_frequency ?? 'ANNUAL'] ?? 1),
    0,
  );
  const starts = policies.map((p) => p.commencement).filter((d): d is string => d !== null);
  const firstPolicyDate = starts.length > 0 ? starts.reduce((a, b) => (a < b ? a : b)) : null;
  const totalPremiumPaid = Math.max(0, Number(money?.paid ?? 0) - Number(money?.refunded ?? 0));
  const claimsPaid = Number(money?.claims_paid ?? 0);
  const base = {
    annualisedPremium: round2(annualisedPremium),
    totalPremiumPaid: round2(totalPremiumPaid),
    firstPolicyDate,
    tenureDays: firstPolicyDate === null ? null : Math.max(0, todayN - dayNumber(firstPolicyDate)),
    policiesInForce: inForce.length,
    policiesTotal: policies.length,
    claimsCount: money?.claims ?? 0,
    claimsPaid: round2(claimsPaid),
    lossRatio: totalPremiumPaid > 0 ? Math.round((claimsPaid / totalPremiumPaid) * 10_000) / 10_000 : null,
    orphanedPolicies: inForce.filter((p) => p.orphaned).length,
  };
  const lifecycle = lifecycleOf(policies, inForce, firstPolicyDate, t, todayN);
  const tier = tierOf(base.annualisedPremium, base.totalPremiumPaid, t);
  const withStage = { ...base, lifecycle, tier };
  const segments = config.segments
    .filter((s) => s.definition.when.every((c) => holds(c, withStage)))
    .map((s) => s.code)
    .sort();
  return { ...withStage, segments };
}

function lifecycleOf(
  policies: readonly Omit<HeldPolicy, 'party_id' | 'key'>[],
  inForce: readonly Omit<HeldPolicy, 'party_id' | 'key'>[],
  firstPolicyDate: string | null,
  t: Thresholds,
  todayN: number,
): Lifecycle {
  if (inForce.length > 0) {
    if (inForce.some((p) => p.paid_to !== null && dayNumber(p.paid_to) < todayN - t.lapsingOverdueDays))
      return 'LAPSING';
    if (firstPolicyDate !== null && dayNumber(firstPolicyDate) >= todayN - t.newCustomerDays) return 'NEW';
    return 'ACTIVE';
  }
  if (policies.length === 0) return 'PROSPECT';
  const recentLapse = policies.some(
    (p) => p.status === 'LA' && (p.paid_to === null || dayNumber(p.paid_to) >= todayN - t.churnAfterLapseDays),
  );
  return recentLapse ? 'LAPSED' : 'CHURNED';
}

function tierOf(annualised: number, paid: number, t: Thresholds): string {
  for (const tier of t.tiers) {
    const premiumOk = tier.minAnnualisedPremium === undefined || annualised >= tier.minAnnualisedPremium;
    const paidOk = tier.minTotalPremiumPaid === undefined || paid >= tier.minTotalPremiumPaid;
    if (premiumOk && paidOk) return tier.code;
  }
  return t.defaultTier;
}

/** Whether a segment condition holds; a metric without a value (no loss ratio yet) satisfies no condition. */
export function holds(c: Condition, v: Record<Metric, unknown>): boolean {
  const actual = v[c.metric];
  if (actual === null || actual === undefined) return false;
  const want = c.value;
  switch (c.op) {
    case 'in':
      return Array.isArray(want) && want.some((w) => w === actual);
    case 'eq':
      return actual === want;
    case 'ne':
      return actual !== want;
    default: {
      if (typeof actual !== 'number' || typeof want !== 'number') return false;
      return c.op === 'gt'
        ? actual > want
        : c.op === 'gte'
          ? actual >= want
          : c.op === 'lt'
            ? actual < want
            : actual <= want;
    }
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
