import { executeBound } from '../db/bound-sql.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { parkAfter, settleQueuedRiskWork } from './risk-work.ts';
import { applyPhaseSeconds, riskQueueAge, riskRoundsTotal, riskSettledTotal } from '../observability/metrics.ts';
import { ownTurns, type RoundTurns, roundRows, workerRounds } from '../db/worker-rounds.ts';

/**
 * Settles the risk follow-up that streaming ingest queues (risk_work, see risk-work.ts) outside the ingest
 * transactions: screening against the blacklists and the alert rules, network flags included. Why not inline:
 *   - an ingest transaction holds its customers' locks for as long as it runs; the risk step read every
 *     affected customer's claims, payments and shared contacts and was a quarter of that time;
 *   - the worker runs beside ingest on its own connection (the database's second core), and a customer whose
 *     payments arrive in many batches is evaluated once per round, not once per batch;
 *   - it reads committed data, so a network (a phone shared by customers of two concurrent transactions) is
 *     seen whole.
 * Risk flags trail ingest by one round (hub_risk_queue_age_seconds): `roundMs` at a steady rate, up to
 * `maxIntervalMs` while the consumer reports a backlog (src/db/worker-rounds.ts). The consumer wakes the worker
 * after each commit; it also polls, for work queued by other hub instances. Failures are retried with capped
 * backoff, and the queued rows stay until settled; after repeated failures rows are settled one at a time, and a row that
 * keeps failing alone is parked (attempts, last_error) so that it does not hold up everyone else's.
 */
export type RiskWorker = { wake(waiting?: number): void; stop(): Promise<void> };

export function startRiskWorker(opts: {
  orm: MikroORM;
  topicPrefix: string;
  logger: Logger;
  afterSettle?: () => void;
  pollMs?: number;
  roundMs?: number;
  /** The longest a round is put off while a backlog is applied (default 30 s): how far flags may trail ingest. */
  maxIntervalMs?: number;
  /** Turns shared with other workers whose rounds must not overlap this one's (default: none). */
  turns?: RoundTurns;
  /** After a round that took d ms, the next starts no earlier than busyFactor × d after it (default 4). */
  busyFactor?: number;
}): RiskWorker {
  const { orm, topicPrefix, logger } = opts;
  // Rounds (src/db/worker-rounds.ts): at most one per roundMs, put off while the consumer reports a backlog,
  // prompt when the backlog is applied or the stream goes quiet. Under load a round settles the work of many
  // ingest transactions, and a customer in all of them is screened and evaluated once.
  const rounds = workerRounds({
    roundMs: opts.roundMs ?? 2_000,
    busyFactor: opts.busyFactor,
    pollMs: opts.pollMs,
    maxIntervalMs: opts.maxIntervalMs,
  });
  let failures = 0;
  const loop = (async () => {
    while (!rounds.stopping) {
      await rounds.untilRound();
      if (rounds.stopping) break;
      let started = performance.now();
      let settled: number;
      try {
        // Risk flags go before the programme's values when both are due (oneRoundAtATime).
        settled = await (opts.turns ?? ownTurns)(
          () => {
            started = performance.now();
            return settleQueuedRiskWork(orm, topicPrefix, { limit: roundRows, logger, failures });
          },
          { first: true },
        );
        failures = 0;
      } catch (e) {
        if (rounds.stopping) break;
        failures += 1;
        logger.warn('settling queued risk work failed; will retry', { attempt: failures, error: e });
        await rounds.backOff(failures);
        continue;
      }
      if (settled > 0) {
        const took = performance.now() - started;
        applyPhaseSeconds.inc({ phase: 'risk' }, took / 1000);
        riskSettledTotal.inc(settled);
        riskRoundsTotal.inc();
        opts.afterSettle?.();
        rounds.settled(started, settled >= roundRows);
        logger.debug('risk round settled', { rows: settled, ms: Math.round(took) });
      }
      riskQueueAge.set(settled > 0 ? await queueAge(orm).catch(() => 0) : 0);
      if (settled === 0) {
        rounds.tried(started);
        await rounds.idle();
      }
    }
  })();

  return {
    wake: (waiting) => rounds.wake(waiting),
    async stop() {
      rounds.stop();
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
