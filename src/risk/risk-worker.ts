import { executeBound } from '../db/bound-sql.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { parkAfter, settleQueuedRiskWork } from './risk-work.ts';
import { applyPhaseSeconds, riskQueueAge, riskSettledTotal } from '../observability/metrics.ts';

/**
 * Settles the risk follow-up that streaming ingest queues (risk_work, see risk-work.ts) outside the ingest
 * transactions: screening against the blacklists and the alert rules, network flags included. Why not inline:
 *   - an ingest transaction holds its customers' locks for as long as it runs; the risk step read every
 *     affected customer's claims, payments and shared contacts and was a quarter of that time;
 *   - the worker runs beside ingest on its own connection (the database's second core), and a customer whose
 *     payments arrive in many batches is evaluated once per round, not once per batch;
 *   - it reads committed data, so a network (a phone shared by customers of two concurrent transactions) is
 *     seen whole.
 * Risk flags trail ingest by one round (hub_risk_queue_age_seconds). The consumer wakes the worker after each
 * commit; it also polls, for work queued by other hub instances. Failures are retried with capped backoff, and
 * the queued rows stay until settled; after repeated failures rows are settled one at a time, and a row that
 * keeps failing alone is parked (attempts, last_error) so that it does not hold up everyone else's.
 */
export type RiskWorker = { wake(): void; stop(): Promise<void> };

export function startRiskWorker(opts: {
  orm: MikroORM;
  topicPrefix: string;
  logger: Logger;
  afterSettle?: () => void;
  pollMs?: number;
  roundMs?: number;
}): RiskWorker {
  const { orm, topicPrefix, logger } = opts;
  const pollMs = opts.pollMs ?? 1_000;
  const roundMs = Math.max(50, opts.roundMs ?? 2_000);
  let stopping = false;
  let failures = 0;
  let pending = false;
  let interrupt: (() => void) | null = null;
  /** Waits `ms`; cut short by stop(), and by wake() when `wakeable` (not while backing off after a failure). */
  let wakeable = false;
  const pause = (ms: number, canWake: boolean) =>
    new Promise<void>((resolve) => {
      wakeable = canWake;
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        interrupt = null;
        resolve();
      }
      interrupt = done;
    });

  const loop = (async () => {
    let lastRound = 0;
    while (!stopping) {
      // At most one round per roundMs: under load a round then settles the work of several ingest
      // transactions, and a customer in all of them is screened and evaluated once.
      const wait = lastRound + roundMs - performance.now();
      if (wait > 0) await pause(wait, false);
      if (stopping) break;
      pending = false;
      const started = performance.now();
      lastRound = started;
      let settled: number;
      try {
        settled = await settleQueuedRiskWork(orm, topicPrefix, { limit: 200, logger, failures });
        failures = 0;
      } catch (e) {
        if (stopping) break;
        failures += 1;
        logger.warn('settling queued risk work failed; will retry', { attempt: failures, error: e });
        await pause(Math.min(300 * 2 ** (failures - 1), 30_000), false);
        continue;
      }
      if (settled > 0) {
        applyPhaseSeconds.inc({ phase: 'risk' }, (performance.now() - started) / 1000);
        riskSettledTotal.inc(settled);
        opts.afterSettle?.();
      }
      riskQueueAge.set(settled > 0 ? await queueAge(orm).catch(() => 0) : 0);
      if (settled === 0 && !pending) await pause(pollMs, true);
    }
  })();

  return {
    wake() {
      pending = true;
      if (wakeable) interrupt?.();
    },
    async stop() {
      stopping = true;
      interrupt?.();
      await loop;
    },
  };
}

async function queueAge(orm: MikroORM): Promise<number> {
  const [age] = await executeBound<{ s: number | null }[]>(
    orm.em.fork(),
    `select extract(epoch from now() - min(not_before))::float8 as s from risk_work where attempts < ? and not_before <= now()`,
    [parkAfter],
  );
  return age?.s ?? 0;
}
