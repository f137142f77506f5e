import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { applyPhaseSeconds } from '../observability/metrics.ts';
import { ensureRefresh, runJobChunk } from './jobs.ts';
import { settleQueuedProgrammeWork } from './programme-work.ts';
import { ownTurns, type RoundTurns, roundRows, workerRounds } from '../db/worker-rounds.ts';

/**
 * Settles what streaming ingest queued for the customer programme (values, follow-ups) after commit, beside
 * the risk worker and on its own connection, at most one round per `roundMs`; between rounds it advances the
 * oldest recompute job by a chunk, so a configuration change recomputes everyone without holding up the stream.
 * Every `refreshCheckMs` it queues the daily refresh when none ran for `refreshHours`.
 */
export type ProgrammeWorker = { wake(waiting?: number): void; stop(): Promise<void> };

export function startProgrammeWorker(opts: {
  orm: MikroORM;
  logger: Logger;
  roundMs?: number;
  pollMs?: number;
  refreshHours?: number;
  refreshCheckMs?: number;
  /** After a round that took d ms, the next starts no earlier than max(roundMs, busyFactor × d) after it (default 4). */
  busyFactor?: number;
  /** With work queued and no commit for this long, the next round starts at once (default 1,000 ms). */
  quietMs?: number;
  /** Turns shared with other workers whose rounds must not overlap this one's (default: none). */
  turns?: RoundTurns;
}): ProgrammeWorker {
  const { orm, logger } = opts;
  const refreshHours = opts.refreshHours ?? 24;
  const refreshCheckMs = opts.refreshCheckMs ?? 600_000;
  // Paced like the risk worker (src/db/worker-rounds.ts); a recompute job's chunks run between rounds.
  const rounds = workerRounds({
    roundMs: opts.roundMs ?? 5_000,
    pollMs: opts.pollMs,
    busyFactor: opts.busyFactor,
    quietMs: opts.quietMs,
  });
  let failures = 0;
  const loop = (async () => {
    let lastRefreshCheck = Number.NEGATIVE_INFINITY;
    while (!rounds.stopping) {
      await rounds.untilRound();
      if (rounds.stopping) break;
      let started = performance.now();
      let settled = 0;
      let chunk = false;
      try {
        await (opts.turns ?? ownTurns)(async () => {
          started = performance.now();
          if (refreshHours > 0 && started - lastRefreshCheck > refreshCheckMs) {
            lastRefreshCheck = started;
            await ensureRefresh(orm, refreshHours);
          }
          settled = await settleQueuedProgrammeWork(orm, { limit: roundRows, failures, logger });
          chunk = await runJobChunk(orm);
        });
        failures = 0;
      } catch (e) {
        if (rounds.stopping) break;
        failures += 1;
        logger.warn('programme work failed; will retry', { attempt: failures, error: e });
        await rounds.backOff(failures);
        continue;
      }
      if (settled > 0 || chunk) applyPhaseSeconds.inc({ phase: 'programme' }, (performance.now() - started) / 1000);
      if (settled > 0) {
        rounds.settled(started, settled >= roundRows);
        logger.debug('programme round settled', { rows: settled, ms: Math.round(performance.now() - started) });
      } else if (chunk) await rounds.rest(started);
      else await rounds.idle();
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
