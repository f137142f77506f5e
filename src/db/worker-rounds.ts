/**
 * The pacing of a work-queue worker's rounds (the risk and programme workers, which settle what streaming ingest
 * queued, see work-queue.ts). Both share the ingest process's one thread with the consumer, so how often they
 * run decides how much of it they take:
 *   - at most one round per `roundMs`, so at a steady rate a round settles the work of several ingest
 *     transactions and a customer in all of them is evaluated once; after a round that took d ms, the next
 *     starts no earlier than `busyFactor` × d after it started, so the worker takes at most about 1 / busyFactor
 *     of the time;
 *   - while the consumer reports a backlog (after its latest commit, `backlogMessages` or more messages wait to be
 *     applied), the next round waits `maxIntervalMs` after the last one started: a catch-up's customers
 *     are settled together once or twice instead of in every round (measured on a 100k-event catch-up: the risk
 *     work of one round per 60 s was a third of that of two-second rounds, docs/measurements.md), and the bound
 *     keeps how far the worker's results trail ingest known;
 *   - when the backlog is applied (a commit reports less waiting) the next round is due at its ordinary time
 *     (at once, after a long wait); without a backlog, with work queued and no commit for `quietMs` (the stream
 *     has gone quiet), it starts at once. A gap between commits is not the end of a
 *     backlog: under load commits pause for a second or more now and then.
 * `wake(waiting)` is what the consumer calls after each commit, with the messages still waiting to be applied;
 * between rounds with nothing queued the worker polls every `pollMs` (for work other instances queued), and a
 * wake-up cuts that short.
 */
export type RoundPacing = {
  roundMs: number;
  pollMs?: number;
  busyFactor?: number;
  quietMs?: number;
  /** How long a round is put off at most while a backlog is applied (default 30 s). */
  maxIntervalMs?: number;
  /** Messages waiting after a commit that make a backlog (default 2,000: more than one ingest transaction holds). */
  backlogMessages?: number;
};

export type WorkerRounds = {
  readonly stopping: boolean;
  /**
   * Work was queued (an ingest commit, after which `waiting` messages wait to be applied; other wake-ups leave
   * the last report as it is): the next round is due.
   */
  wake(waiting?: number): void;
  /** Waits until the next round is due: its time has come, or the stream is quiet with work queued. */
  untilRound(): Promise<void>;
  /**
   * A round that started at `started` and settled work ended: paces the next. `more` says the queue still holds
   * work (the round reached its row limit), so the next round is due without a wake-up.
   */
  settled(started: number, more: boolean): void;
  /**
   * A round that started at `started` found nothing to settle (the queue was empty, or another instance had the
   * turn): the next is still no sooner than `roundMs` after it, so wake-ups during such rounds do not start one
   * round per commit.
   */
  tried(started: number): void;
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

/**
 * Queued rows (one per ingest transaction) a worker settles together in one round at most: enough for the ingest
 * transactions of the longest interval between rounds, so a backlog's rounds do not fall behind.
 */
export const roundRows = 1_000;

export function workerRounds(pacing: RoundPacing): WorkerRounds {
  const roundMs = Math.max(50, pacing.roundMs);
  const pollMs = pacing.pollMs ?? 1_000;
  const busyFactor = Math.max(1, pacing.busyFactor ?? 4);
  const quietMs = pacing.quietMs ?? 1_000;
  const maxIntervalMs = Math.max(roundMs, pacing.maxIntervalMs ?? 30_000);
  const backlogMessages = pacing.backlogMessages ?? 2_000;
  let stopping = false;
  let pending = false;
  let lastWake = Number.NEGATIVE_INFINITY;
  /**
   * The consumer's latest report of messages waiting, and when (ms, performance.now()); older than maxIntervalMs
   * it no longer counts (the consumer stopped).
   */
  let waitingReport = { messages: 0, at: Number.NEGATIVE_INFINITY };
  const backlog = (now: number) => waitingReport.messages >= backlogMessages && now - waitingReport.at < maxIntervalMs;
  /** When the last round that settled work started, and when the next may start at a steady rate. */
  let lastStart = Number.NEGATIVE_INFINITY;
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
    wake(waiting) {
      pending = true;
      lastWake = performance.now();
      if (waiting !== undefined) waitingReport = { messages: waiting, at: lastWake };
      if (wakeable) interrupt?.();
    },
    async untilRound() {
      for (;;) {
        const now = performance.now();
        const behind = backlog(now);
        const wait = (behind ? Math.max(nextRound, lastStart + maxIntervalMs) : nextRound) - now;
        if (wait <= 0 || stopping) break;
        if (!behind && pending && now - lastWake >= quietMs) break;
        // Slices, so that the stream going quiet is noticed within a fraction of quietMs.
        await pause(Math.min(wait, Math.max(20, quietMs / 5)), false);
      }
      pending = false;
    },
    settled(started, more) {
      const took = performance.now() - started;
      lastStart = started;
      nextRound = started + Math.min(maxIntervalMs, Math.max(roundMs, busyFactor * took));
      if (more) pending = true;
      // Quiet is counted from the round's end: ingest commits less while a round shares its thread, and a gap
      // inside a long round is not the stream going quiet. (With work left over, a quiet stream goes on at once.)
      else lastWake = Math.max(lastWake, performance.now());
    },
    tried(started) {
      nextRound = Math.max(nextRound, started + roundMs);
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

/**
 * Runs a worker's round when no other round holding the same turns runs (see `oneRoundAtATime`). `first`: the
 * round goes before the waiting rounds that were not asked with it.
 */
export type RoundTurns = <T>(round: () => Promise<T>, opts?: { first?: boolean }) => Promise<T>;

/**
 * Turns shared by workers whose rounds should not overlap: the risk and programme workers on their thread take
 * turns, so that at most one round's statements compete with ingest's for the database at a time (measured at a
 * steady 1,500 events/s: an ingest transaction of 151 messages took 380 ms while both rounds ran, ~100 ms beside
 * one). Rounds run in the order asked, except that a round asked `first` (risk) goes before waiting rounds that
 * were not (programme): when a catch-up ends both are due at once, and the underwriters' flags should not wait
 * for the customer values (1.7 s of programme round before a 6 s risk round on bench:ingest's catch-up). A round
 * that fails does not stop the ones after it. Its pacing counts from when it starts, not from when it asked.
 */
export function oneRoundAtATime(): RoundTurns {
  const waiting: { first: boolean; start: () => void }[] = [];
  let busy = false;
  const next = () => {
    const i = waiting.findIndex((w) => w.first);
    const [w] = waiting.splice(i >= 0 ? i : 0, 1);
    if (!w) {
      busy = false;
      return;
    }
    w.start();
  };
  return <T>(round: () => Promise<T>, opts: { first?: boolean } = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        busy = true;
        let run: Promise<T>;
        try {
          // Whatever the round returns or throws, the turn passes on when it ends.
          run = Promise.resolve(round());
        } catch (e) {
          run = Promise.reject(e);
        }
        run.then(resolve, reject).finally(next);
      };
      if (busy) waiting.push({ first: opts.first ?? false, start });
      else start();
    });
}

/** Rounds that take no turns (a worker on its own). */
export const ownTurns: RoundTurns = (round) => round();
