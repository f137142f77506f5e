import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import type { Logger } from '../config/logger.ts';
import { moneyMovementKinds } from '../domain/activity.ts';
import type { ChangeSet } from '../sync/change-set.ts';
import { screenParties } from './screening.ts';
import { enabledRules, evaluateAlertsForParties } from './alerts.ts';
import { chunked, marks } from '../db/sql-sets.ts';
import { parkAfter, settleQueue } from '../db/work-queue.ts';
import { refreshRelations } from '../relations/refresh.ts';
import { preferIndexLookupsLocally } from '../db/local-settings.ts';

/**
 * Risk follow-up of one applied batch. The sync step only notes which customers, claims/payments and policies
 * changed; at the end of the batch, still inside its transaction, every affected customer is screened and has
 * its alert rules evaluated once — not once per event, which for a customer with a burst of claims would
 * repeat the same work many times. Both run set-based: the batch's customers are screened together and
 * evaluated together (a constant number of statements per 500 customers, not a handful per customer — at
 * ~0.5 ms a round trip the per-customer form cost as much as the identity resolution of the batch).
 */
export type RiskWork = {
  /** Golden customers whose record changed: re-screened against the blacklists and re-evaluated. */
  screen: Set<string>;
  /** Golden customers whose evidence for the alert rules may have changed. */
  evaluate: Set<string>;
  /** Source records (system + id) that own claims or payments that changed. */
  activityOwners: Map<string, { system: string; sourceId: string }>;
  /** Policies that changed (status, sum insured, …): customers with claims on them are re-evaluated. */
  policies: Map<string, { system: string; policyNo: string }>;
  /** Policies whose roles changed: their role holders' relationships and households are re-derived. */
  rolePolicies: Map<string, { system: string; policyNo: string }>;
};

export function newRiskWork(): RiskWork {
  return {
    screen: new Set(),
    evaluate: new Set(),
    activityOwners: new Map(),
    policies: new Map(),
    rolePolicies: new Map(),
  };
}

/** Notes a source record whose claims or payments changed (its customer is re-evaluated). */
export function noteActivityOwner(work: RiskWork, system: string, sourceId: string): void {
  work.activityOwners.set(`${system}\u0000${sourceId}`, { system, sourceId });
}

/** Notes a policy that changed (customers who claimed on it are re-evaluated). */
export function notePolicy(work: RiskWork, system: string, policyNo: string): void {
  work.policies.set(`${system}\u0000${policyNo}`, { system, policyNo });
}

/**
 * What risk makes of a sync change set: customers whose record changed are re-screened and re-evaluated,
 * customers merged away are re-evaluated (their alerts close), and owners of changed claims and payments —
 * the activity kinds the alert rules read — and changed policies lead to their customers' re-evaluation.
 */
export function riskWorkOf(changed: ChangeSet): RiskWork {
  const work = newRiskWork();
  for (const id of changed.customers) {
    work.screen.add(id);
    work.evaluate.add(id);
  }
  for (const id of changed.mergedAway) work.evaluate.add(id);
  for (const o of changed.activityOwners.values())
    if (moneyMovementKinds.some((k) => o.kinds.has(k))) noteActivityOwner(work, o.system, o.sourceId);
  for (const p of changed.policies.values()) notePolicy(work, p.system, p.policyNo);
  for (const [k, p] of changed.rolePolicies) work.rolePolicies.set(k, p);
  return work;
}

/**
 * The follow-up of an ingest transaction's change set, as the runtime wires it into ingest: `queue` (streaming:
 * the risk worker settles it after commit) or `settle` (file and demo loads: complete when they return).
 */
export function riskFollowUp(mode: 'queue' | 'settle', topicPrefix = '') {
  return mode === 'queue'
    ? { phase: 'risk-queue', run: (em: EntityManager, changed: ChangeSet) => queueRiskWork(em, riskWorkOf(changed)) }
    : {
        phase: 'risk',
        run: async (em: EntityManager, changed: ChangeSet) => {
          await settleRiskWork(em, riskWorkOf(changed), topicPrefix);
        },
      };
}

/** The work as stored in `risk_work` (JSON). */
type QueuedWork = {
  screen: string[];
  evaluate: string[];
  activityOwners: [string, string][];
  policies: [string, string][];
  /** Absent in rows queued before relationships existed. */
  rolePolicies?: [string, string][];
};

export function isEmptyRiskWork(work: RiskWork): boolean {
  return (
    work.screen.size === 0 &&
    work.evaluate.size === 0 &&
    work.activityOwners.size === 0 &&
    work.policies.size === 0 &&
    work.rolePolicies.size === 0
  );
}

/**
 * Queues a batch's risk follow-up in the caller's transaction (streaming ingest: the risk worker settles it
 * after commit, see risk-worker.ts). The ingest transaction then neither reads the claim and payment history
 * nor takes the alert locks, and the worker settles the customers of many batches in one go.
 */
export async function queueRiskWork(em: EntityManager, work: RiskWork): Promise<void> {
  if (isEmptyRiskWork(work)) return;
  const queued: QueuedWork = {
    screen: [...work.screen],
    evaluate: [...work.evaluate],
    activityOwners: [...work.activityOwners.values()].map((o) => [o.system, o.sourceId]),
    policies: [...work.policies.values()].map((p) => [p.system, p.policyNo]),
    rolePolicies: [...work.rolePolicies.values()].map((p) => [p.system, p.policyNo]),
  };
  await executeBound(em, `insert into risk_work (work) values (?::jsonb)`, [JSON.stringify(queued)]);
}

export { parkAfter };

/**
 * The advisory lock of risk settlement: the queued worker tries it, a rescan's relationship phase waits for it.
 * An SQL expression, the same key wherever it is taken.
 */
export const riskWorkerLock = `hashtextextended('hub:risk-worker', 0)`;

/**
 * Settles up to `limit` queued rows together (src/db/work-queue.ts): one settlement at a time across instances
 * (a transaction-scoped advisory lock) — two settling the same customer at once would race to open the same alert.
 */
export function settleQueuedRiskWork(
  orm: MikroORM,
  topicPrefix: string,
  opts: { limit?: number; failures?: number; logger?: Logger } = {},
): Promise<number> {
  return settleQueue<QueuedWork>(
    orm,
    {
      table: 'risk_work',
      label: 'risk work',
      turn: async (em) => {
        const [turn] = await executeBound<{ ok: boolean }[]>(
          em,
          `select pg_try_advisory_xact_lock(${riskWorkerLock}) as ok`,
        );
        return turn?.ok === true;
      },
      settle: async (em, queued) => {
        const work = newRiskWork();
        for (const q of queued) {
          for (const id of q.screen) work.screen.add(id);
          for (const id of q.evaluate) work.evaluate.add(id);
          for (const [system, sourceId] of q.activityOwners) noteActivityOwner(work, system, sourceId);
          for (const [system, policyNo] of q.policies) notePolicy(work, system, policyNo);
          for (const [system, policyNo] of q.rolePolicies ?? [])
            work.rolePolicies.set(`${system}\u0000${policyNo}`, { system, policyNo });
        }
        await settleRiskWork(em, work, topicPrefix);
      },
    },
    { limit: opts.limit ?? 20, failures: opts.failures, logger: opts.logger },
  );
}

/** Screens and evaluates everyone the batch affected; returns the number of alerts opened, updated or closed. */
export async function settleRiskWork(em: EntityManager, work: RiskWork, topicPrefix = ''): Promise<number> {
  // Everything below looks up the given customers' relatives, contacts and history by key.
  await preferIndexLookupsLocally(em);
  const evaluate = new Set(work.evaluate);
  // Relationships and households first: the network rules count relatives and housemates as one. Re-derived
  // for customers whose record changed or merged away and for the holders of policies whose roles changed;
  // everyone whose relationships or household changed is re-evaluated.
  const relationSeeds = new Set([...work.screen, ...work.evaluate]);
  for (const policies of chunked([...work.rolePolicies.values()], 1000)) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id from (values ${marks(policies.length, '(?, ?)')}) as p(system, policy_no)
         join policy_role pr on pr.system = p.system and pr.policy_no = p.policy_no
         join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id and not sr.deleted where sr.party_id is not null`,
      policies.flatMap((p) => [p.system, p.policyNo]),
    );
    for (const r of rows) relationSeeds.add(r.party_id);
  }
  for (const id of await refreshRelations(em, relationSeeds)) evaluate.add(id);
  for (const owners of chunked([...work.activityOwners.values()], 1000)) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id from (values ${marks(owners.length, '(?, ?)')}) as o(system, source_id)
         join source_record sr on sr.system = o.system and sr.source_id = o.source_id where not sr.deleted and sr.party_id is not null`,
      owners.flatMap((o) => [o.system, o.sourceId]),
    );
    for (const r of rows) evaluate.add(r.party_id);
  }
  // A policy change matters to the rules only through claims on it (early claim after reinstatement or a
  // sum-insured increase): the customers who claimed on the policy are re-evaluated.
  for (const policies of chunked([...work.policies.values()], 1000)) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
        where a.kind = 'CLAIM' and not a.deleted and sr.party_id is not null and a.policy_no in (${marks(policies.length)})`,
      policies.map((p) => p.policyNo),
    );
    for (const r of rows) evaluate.add(r.party_id);
  }
  await screenParties(em, [...work.screen].sort());
  let alerts = 0;
  // Network flags concern everyone in the network: customers a finding names are evaluated too (and whom
  // they name in turn, until no one new comes up) — one set evaluation per round. Within a round the order
  // does not matter: an evaluation reads contact points, activities and policies, not other customers' alerts.
  const done = new Set<string>();
  let queue = [...evaluate].sort();
  const rules = queue.length > 0 ? await enabledRules(em) : [];
  while (queue.length > 0) {
    const related = new Set<string>();
    for (const id of queue) done.add(id);
    alerts += await evaluateAlertsForParties(em, queue, topicPrefix, related, rules);
    queue = [...related].filter((id) => !done.has(id)).sort();
  }
  return alerts;
}
