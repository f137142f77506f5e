import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { settleQueuedRiskWork } from './risk-work.ts';
import { applyPhaseSeconds, riskQueueAge, riskSettledTotal } from '../ingest/metrics.ts';

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
 * commit; it also polls, for work queued by other hub instances. Failures are retried with backoff, and the
 * queued rows stay until settled.
 */
export type RiskWorker = { wake(): void; stop(): Promise<void> };

export function startRiskWorker(opts: { orm: MikroORM; topicPrefix: string; logger: Logger; afterSettle?: () => void; pollMs?: number; roundMs?: number }): RiskWorker {
  const { orm, topicPrefix, logger } = opts;
  const pollMs = opts.pollMs ?? 1_000;
  const roundMs = opts.roundMs ?? 2_000;
  let lastRound = 0;
  let stopping = false;
  let wakeUp: (() => void) | null = null;
  let pending = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      // At most one round per roundMs: under load a round then settles the work of several ingest
      // transactions, and a customer in all of them is screened and evaluated once.
      const wait = lastRound + roundMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopping) break;
      pending = false;
      try {
        const started = performance.now();
        lastRound = started;
        const settled = await settleQueuedRiskWork(orm, topicPrefix, 200);
        failures = 0;
        if (settled > 0) {
          applyPhaseSeconds.inc({ phase: 'risk' }, (performance.now() - started) / 1000);
          riskSettledTotal.inc(settled);
          opts.afterSettle?.();
          const [age] = await orm.em.fork().execute<{ s: number | null }[]>(`select extract(epoch from now() - min(queued_at))::float8 as s from risk_work`);
          riskQueueAge.set(age?.s ?? 0);
          continue;
        }
        riskQueueAge.set(0);
      } catch (e) {
        if (stopping) break;
        failures += 1;
        logger.warn('settling queued risk work failed; will retry', { attempt: failures, error: e });
        await sleep(Math.min(300 * 2 ** (failures - 1), 30_000));
        continue;
      }
      if (!pending) await sleep(pollMs);
    }
  })();

  return {
    wake() {
      pending = true;
      wakeUp?.();
    },
    async stop() {
      stopping = true;
      wakeUp?.();
      await loop;
    },
  };
}
