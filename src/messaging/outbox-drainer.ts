import type { Logger } from '../config/logger.ts';

/**
 * Drives a transactional-outbox publisher: `publishOnce` claims and sends one page of rows and returns how many
 * it sent. One drain runs at a time; a request while one runs is answered by one more pass after it (not one per
 * request). Leftovers — a crash between a commit and its send — are picked up on a timer. Used for dead letters
 * (src/ingest/dead-letters.ts) and for outbound events such as alert changes (src/risk/outbox.ts).
 */
export type OutboxDrainer = { drain(): Promise<void>; stop(): Promise<void> };

export function startOutboxDrainer(opts: {
  name: string;
  publishOnce: () => Promise<number>;
  logger: Logger;
  intervalMs?: number;
  /**
   * Rows `publishOnce` claims at most: a pass that sent fewer found the outbox drained (what commits after it
   * asks for a pass of its own), so it does not poll once more to find nothing — after every ingest commit that
   * was a second transaction of four statements. Without it, passes go on until one sends nothing.
   */
  pageSize?: number;
  /**
   * A pass starts at least this long after the one before (default 0): requests in between are answered by one
   * pass at the end of the spacing. Every ingest commit asks for a pass; at 1,500 events/s that was ~44 passes a
   * second, each a transaction of four statements on the hub's thread and pool beside ingest.
   */
  minSpacingMs?: number;
}): OutboxDrainer {
  let draining: Promise<void> | null = null;
  let again = false;
  let stopping = false;
  let finishing = false;
  let lastPass = Number.NEGATIVE_INFINITY;
  const spacing = opts.minSpacingMs ?? 0;
  const drain = (): Promise<void> => {
    // After stop: the producer is gone (a part abandoned at shutdown may still finish and ask).
    if (stopping) return Promise.resolve();
    if (draining) {
      again = true;
      return draining;
    }
    draining = (async () => {
      // The body runs once `draining` is set (it is cleared below).
      await Promise.resolve();
      try {
        do {
          // The last pass at shutdown goes out without waiting (one already waiting waits at most the spacing).
          const wait = lastPass + spacing - performance.now();
          if (wait > 0 && !finishing) await new Promise((r) => setTimeout(r, wait));
          lastPass = performance.now();
          again = false;
          try {
            const full = opts.pageSize ?? 1;
            while ((await opts.publishOnce()) >= full);
          } catch (e) {
            opts.logger.warn(`${opts.name} publishing failed; will retry`, { error: e });
          }
        } while (again && !stopping);
      } finally {
        // In the same turn as the last look at `again`: a request made after it starts a pass of its own.
        draining = null;
      }
    })();
    return draining;
  };
  const timer = setInterval(() => void drain(), opts.intervalMs ?? 5_000);
  timer.unref();
  return {
    drain,
    async stop() {
      clearInterval(timer);
      // A last pass, so what the final transactions wrote goes out before the producer disconnects.
      finishing = true;
      await drain();
      stopping = true;
    },
  };
}
