import type { MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked } from '../db/sql-sets.ts';
import { refreshAllRelationships } from '../relations/all-relationships.ts';
import { oversizedHouseholdMembers, refreshHouseholds } from '../relations/households.ts';
import { enabledRules, evaluateAlertsForParties } from './alerts.ts';
import { riskWorkerLock } from './risk-work.ts';
import { alertCandidates, screeningCandidates } from './rescan-candidates.ts';
import { screenParties } from './screening.ts';

export type RescanResult = {
  customers: number;
  /** Customers screened and evaluated by the alert rules (the others could not change, rescan-candidates.ts). */
  screened: number;
  evaluated: number;
  /** Alerts opened, updated or closed. */
  alerts: number;
  /** Seconds deriving relationships and households, and screening with the alert rules. */
  relationsSeconds: number;
  riskSeconds: number;
};

/**
 * `hub risk rescan`: re-screens every active customer and re-evaluates every enabled alert rule. Relationships and
 * households first, for everyone (after an upgrade they start empty; a rescan also repairs any drift), so that the
 * network rules then count relatives as one: the relationships of the whole store in one transaction
 * (all-relationships.ts) while risk settlement waits (it takes the same lock, risk-work.ts), then the households
 * of everyone whose relationships changed, 1,000 at a time; then screening and the alert rules for the customers
 * they could change (rescanRisk). Each chunk is its own transaction.
 */
export async function rescanAll(
  orm: MikroORM,
  topicPrefix: string,
  progress?: (phase: 'relations' | 'risk', done: number, total: number) => void,
): Promise<RescanResult> {
  const parties = await orm.em
    .fork()
    .execute<{ id: string }[]>(`select id from party where status = 'ACTIVE' order by id`);
  const t0 = performance.now();
  await analyze(orm, relationsReads);
  const edgesChanged = await orm.em.fork().transactional(async (em) => {
    await executeBound(em, `select pg_advisory_xact_lock(${riskWorkerLock})`);
    return refreshAllRelationships(em);
  });
  // And the members of households formed before households were bounded (src/relations/households.ts).
  const changed = [...new Set([...edgesChanged, ...(await oversizedHouseholdMembers(orm.em.fork()))])].sort();
  let seeded = 0;
  for (const seeds of chunked(changed, 1000)) {
    await orm.em.fork().transactional((em) => refreshHouseholds(em, seeds));
    seeded += seeds.length;
    progress?.('relations', seeded, changed.length);
  }
  const t1 = performance.now();
  const risk = await rescanRisk(
    orm,
    topicPrefix,
    parties.map((p) => p.id),
    progress,
  );
  const t2 = performance.now();
  return {
    customers: parties.length,
    ...risk,
    relationsSeconds: (t1 - t0) / 1000,
    riskSeconds: (t2 - t1) / 1000,
  };
}

/**
 * The rescan's risk phase: screening of the customers screening could change (rescan-candidates.ts), 500 per
 * transaction, then the alert rules for the customers they could change, 200 per transaction — in id order, as
 * when everyone was evaluated. `everyone` (the active customers in id order) is evaluated when a rule of a kind
 * the candidates do not know is enabled.
 */
export async function rescanRisk(
  orm: MikroORM,
  topicPrefix: string,
  everyone: readonly string[],
  progress?: (phase: 'relations' | 'risk', done: number, total: number) => void,
): Promise<{ screened: number; evaluated: number; alerts: number }> {
  await analyze(orm, riskReads);
  const { screen, evaluate, rules } = await orm.em.fork().transactional(async (em) => {
    const rules = await enabledRules(em);
    const evaluate = await alertCandidates(em, rules);
    return { screen: await screeningCandidates(em), evaluate: evaluate === 'everyone' ? everyone : evaluate, rules };
  });
  const total = screen.length + evaluate.length;
  for (const [i, slice] of [...chunked(screen, 500)].entries()) {
    await orm.em.fork().transactional((em) => screenParties(em, slice));
    progress?.('risk', Math.min((i + 1) * 500, screen.length), total);
  }
  let alerts = 0;
  for (const [i, slice] of [...chunked(evaluate, 200)].entries()) {
    await orm.em.fork().transactional(async (em) => {
      alerts += await evaluateAlertsForParties(em, slice, topicPrefix, undefined, rules);
    });
    progress?.('risk', screen.length + Math.min((i + 1) * 200, evaluate.length), total);
  }
  return { screened: screen.length, evaluated: evaluate.length, alerts };
}

/**
 * The rescan's set-based statements join whole tables, and a plan made on stale statistics can be quadratic: right
 * after a bulk load (which analyses the tables it matches on, not the activities), bench:quality's rescan at 20,000
 * customers spent minutes in the bank-account candidates — `activity` believed to hold 146 payments and claims
 * instead of 41,840, the shared-account groups re-aggregated once per holder. So the rescan analyses what each of
 * its phases reads first (a sample per table: seconds at a million customers; it takes no lock that blocks writes),
 * the risk phase after the relationships and households it just rewrote.
 */
const relationsReads = [
  'party',
  'source_record',
  'contact_point',
  'policy',
  'policy_role',
  'relationship',
  'household_member',
];
const riskReads = [
  'party',
  'source_record',
  'contact_point',
  'party_identifier',
  'activity',
  'policy',
  'policy_role',
  'relationship',
  'household_member',
  'alert',
  'alert_pending',
  'screening_hit',
  'blacklist_key',
];

async function analyze(orm: MikroORM, tables: readonly string[]): Promise<void> {
  await orm.em.fork().execute(`analyze ${tables.join(', ')}`);
}
