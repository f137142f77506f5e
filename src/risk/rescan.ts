import type { MikroORM } from '@mikro-orm/postgresql';
import { refreshRelations } from '../relations/refresh.ts';
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
 * network rules then count relatives as one. Chunks of 500 (relations) and 200 (risk), each its own transaction.
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
  for (let i = 0; i < parties.length; i += 500) {
    await orm.em.fork().transactional((em) =>
      refreshRelations(
        em,
        parties.slice(i, i + 500).map((p) => p.id),
      ),
    );
    progress?.('relations', Math.min(i + 500, parties.length), parties.length);
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
