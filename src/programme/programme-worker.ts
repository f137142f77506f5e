import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { applyPhaseSeconds } from '../observability/metrics.ts';
import { ensureRefresh, runJobChunk } from './jobs.ts';
import { settleQueuedProgrammeWork } from './programme-work.ts';

/**
 * Settles what streaming ingest queued for the customer programme (values, follow-ups) after commit, beside
 * the risk worker and on its own connection, at most one round per `roundMs`; between rounds it advances the
 * oldest recompute job by a chunk, so a configuration change recomputes everyone without holding up the stream.
 * Every `refreshCheckMs` it queues the daily refresh when none ran for `refreshHours`.
 */
export type ProgrammeWorker = { wake(): void; stop(): Promise<void> };

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
}): ProgrammeWorker {
  const { orm, logger } = opts;
  const roundMs = Math.max(50, opts.roundMs ?? 5_000);
  const pollMs = opts.pollMs ?? 1_000;
  const refreshHours = opts.refreshHours ?? 24;
  const refreshCheckMs = opts.refreshCheckMs ?? 600_000;
  const busyFactor = opts.busyFactor ?? 4;
  let stopping = false;
  let failures = 0;
  let pending = false;
  let lastWake = 0;
  const quietMs = opts.quietMs ?? 1_000;
  let wakeable = false;
  let interrupt: (() => void) | null = null;
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
    let lastRefreshCheck = Number.NEGATIVE_INFINITY;
    while (!stopping) {
      // Between rounds: wait for the round's time, but not once the stream has gone quiet (no commit for quietMs)
      // with work queued — the end of a backlog is derived at once instead of a round later.
      for (;;) {
        const wait = lastRound + roundMs - performance.now();
        if (wait <= 0 || stopping) break;
        if (pending && performance.now() - lastWake >= quietMs) break;
        await pause(Math.min(wait, 200), false);
      }
      if (stopping) break;
      pending = false;
      const started = performance.now();
      let settled = 0;
      let chunk = false;
      try {
        if (refreshHours > 0 && started - lastRefreshCheck > refreshCheckMs) {
          lastRefreshCheck = started;
          await ensureRefresh(orm, refreshHours);
        }
        settled = await settleQueuedProgrammeWork(orm, { limit: 200, failures, logger });
        // Rounds pace the queued work; a job's chunks run back to back while nothing is queued.
        if (settled > 0) lastRound = started;
        chunk = await runJobChunk(orm);
        failures = 0;
      } catch (e) {
        if (stopping) break;
        failures += 1;
        logger.warn('programme work failed; will retry', { attempt: failures, error: e });
        await pause(Math.min(300 * 2 ** (failures - 1), 30_000), false);
        continue;
      }
      const took = performance.now() - started;
      if (settled > 0 || chunk) applyPhaseSeconds.inc({ phase: 'programme' }, took / 1000);
      // A long round (a backlog being caught up, a job's chunk) is followed by a longer pause: the next round starts
      // no earlier than busyFactor × its time after it started, so the worker takes at most 1 / busyFactor of the
      // time beside ingest, and the customers of the batches in between are valued together.
      if (settled > 0) lastRound = started + Math.max(0, busyFactor * took - roundMs);
      else if (chunk && busyFactor > 1) await pause((busyFactor - 1) * took, false);
      if (settled === 0 && !chunk && !pending) await pause(pollMs, true);
    }
  })();
  return {
    wake() {
      pending = true;
      lastWake = performance.now();
      if (wakeable) interrupt?.();
    },
    async stop() {
      stopping = true;
      interrupt?.();
      await loop;
    },
  };
}
