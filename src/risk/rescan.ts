import type { MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked } from '../db/sql-sets.ts';
import { refreshAllRelationships } from '../relations/all-relationships.ts';
import { refreshHouseholds } from '../relations/households.ts';
import { evaluateAlertsForParties } from './alerts.ts';
import { screenParties } from './screening.ts';

export type RescanResult = {
  customers: number;
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
 * of everyone whose relationships changed, 1,000 at a time; screening and the alert rules in chunks of 200. Each
 * chunk is its own transaction.
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
  const changed = await orm.em.fork().transactional(async (em) => {
    await executeBound(em, `select pg_advisory_xact_lock(hashtextextended('hub:risk-worker', 0))`);
    return refreshAllRelationships(em);
  });
  let seeded = 0;
  for (const seeds of chunked(changed, 1000)) {
    await orm.em.fork().transactional((em) => refreshHouseholds(em, seeds));
    seeded += seeds.length;
    progress?.('relations', seeded, changed.length);
  }
  const t1 = performance.now();
  let alerts = 0;
  for (let i = 0; i < parties.length; i += 200) {
    await orm.em.fork().transactional(async (em) => {
      const slice = parties.slice(i, i + 200).map((p) => p.id);
      await screenParties(em, slice);
      alerts += await evaluateAlertsForParties(em, slice, topicPrefix);
    });
    progress?.('risk', Math.min(i + 200, parties.length), parties.length);
  }
  const t2 = performance.now();
  return { customers: parties.length, alerts, relationsSeconds: (t1 - t0) / 1000, riskSeconds: (t2 - t1) / 1000 };
}
