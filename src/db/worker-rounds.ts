/**
 * The pacing of a work-queue worker's rounds (the risk and programme workers, which settle what streaming ingest
 * queued, see work-queue.ts). Both share the ingest process's one thread with the consumer, so how often they
 * run decides how much of it they take:
 *   - at most one round per `roundMs`, so at a steady rate a round settles the work of several ingest
 *     transactions and a customer in all of them is evaluated once;
 *   - after a round that took d ms with work in it, the next starts no earlier than `busyFactor` × d after it
 *     started (at most `maxIntervalMs`): while a backlog is caught up rounds lengthen, so the worker takes at most
 *     about 1 / busyFactor of the time and settles ever more transactions' work per customer evaluated; the
 *     bound keeps how far its results trail ingest known;
 *   - with work queued and no commit for `quietMs` (the stream has gone quiet, a backlog's end), the next round
 *     starts at once instead of at its time, so the end of a catch-up is settled promptly.
 * `wake()` is what the consumer calls after each commit; between rounds with nothing queued the worker polls
 * every `pollMs` (for work other instances queued), and a wake-up cuts that short.
 */
export type RoundPacing = {
  roundMs: number;
  pollMs?: number;
  busyFactor?: number;
  quietMs?: number;
  maxIntervalMs?: number;
};

export type WorkerRounds = {
  readonly stopping: boolean;
  /** Work was queued (an ingest commit): the next round is due. */
  wake(): void;
  /** Waits until the next round is due: its time has come, or the stream is quiet with work queued. */
  untilRound(): Promise<void>;
  /**
   * A round that started at `started` and settled work ended: paces the next. `more` says the queue still holds
   * work (the round reached its row limit), so the next round is due without a wake-up. Returns the interval
   * (ms) from this round's start to the next's, for the log.
   */
  settled(started: number, more: boolean): number;
  /**
   * After a step of background work that is not queued (a recompute job's chunk, started at `started`): rests
   * (busyFactor − 1) × its time, so such steps too take at most about 1 / busyFactor of the thread.
   */
  rest(started: number): Promise<void>;
  /** Nothing was settled and nothing is due: waits for a wake-up or `pollMs`. */
  idle(): Promise<void>;
  /** A round failed for the `failures`-th time in a row: capped exponential backoff, not cut short by wake-ups. */
  backOff(failures: number): Promise<void>;
  /** Stops pacing: waits in progress end at once. */
  stop(): void;
};

export function workerRounds(pacing: RoundPacing): WorkerRounds {
  const roundMs = Math.max(50, pacing.roundMs);
  const pollMs = pacing.pollMs ?? 1_000;
  const busyFactor = Math.max(1, pacing.busyFactor ?? 4);
  const quietMs = pacing.quietMs ?? 1_000;
  const maxIntervalMs = Math.max(roundMs, pacing.maxIntervalMs ?? 30_000);
  let stopping = false;
  let pending = false;
  let lastWake = Number.NEGATIVE_INFINITY;
  /** When the next round may start (ms, performance.now()). */
  let nextRound = 0;
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

  return {
    get stopping() {
      return stopping;
    },
    wake() {
      pending = true;
      lastWake = performance.now();
      if (wakeable) interrupt?.();
    },
    async untilRound() {
      for (;;) {
        const wait = nextRound - performance.now();
        if (wait <= 0 || stopping) break;
        if (pending && performance.now() - lastWake >= quietMs) break;
        // Slices, so that the stream going quiet is noticed within a fraction of quietMs.
        await pause(Math.min(wait, Math.max(20, quietMs / 5)), false);
      }
      pending = false;
    },
    settled(started, more) {
      const took = performance.now() - started;
      const interval = Math.min(maxIntervalMs, Math.max(roundMs, busyFactor * took));
      nextRound = started + interval;
      if (more) pending = true;
      // Quiet is counted from the round's end: ingest commits less while a round shares its thread, and a gap
      // inside a long round is not the stream going quiet. (With work left over, a quiet stream goes on at once.)
      else lastWake = Math.max(lastWake, performance.now());
      return interval;
    },
    async rest(started) {
      const took = performance.now() - started;
      if (busyFactor > 1 && !stopping) await pause((busyFactor - 1) * took, false);
    },
    async idle() {
      if (!pending && !stopping) await pause(pollMs, true);
    },
    async backOff(failures) {
      if (!stopping) await pause(Math.min(300 * 2 ** (failures - 1), 30_000), false);
    },
    stop() {
      stopping = true;
      interrupt?.();
    },
  };
}
