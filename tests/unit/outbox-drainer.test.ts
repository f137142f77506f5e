import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/config/logger.ts';
import { startOutboxDrainer } from '../../src/messaging/outbox-drainer.ts';

/**
 * The outbox publisher's passes (src/messaging/outbox-drainer.ts): requests made while a pass runs or waits are
 * answered by one more pass, and with a minimum spacing the passes start at least that far apart — every ingest
 * commit asks for one — while the last pass at shutdown goes out without waiting.
 */
describe('outbox drainer', () => {
  const logger = createLogger('silent');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A drainer whose passes take `passMs` and send nothing; `starts` holds when each pass began. */
  const recordingDrainer = (opts: { passMs?: number; minSpacingMs?: number } = {}) => {
    const starts: number[] = [];
    const drainer = startOutboxDrainer({
      name: 'test',
      publishOnce: async () => {
        starts.push(performance.now());
        if (opts.passMs) await sleep(opts.passMs);
        return 0;
      },
      logger,
      minSpacingMs: opts.minSpacingMs,
      intervalMs: 60_000,
    });
    return { drainer, starts };
  };

  it('starts passes at least the spacing apart, however many commits ask for one', async () => {
    const { drainer, starts } = recordingDrainer({ passMs: 5, minSpacingMs: 200 });
    // Twenty commits, 20 ms apart: ~400 ms of requests (longer on a busy machine).
    const from = performance.now();
    for (let i = 0; i < 20; i += 1) {
      void drainer.drain();
      await sleep(20);
    }
    const asking = performance.now() - from;
    await drainer.drain();
    await drainer.stop();
    // At most one pass per 200 ms of requests (the first at once), one for the requests of the last stretch, and
    // the last pass at shutdown; without the spacing, about one per request.
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(Math.ceil(asking / 200) + 2);
    expect(starts.length).toBeLessThan(15);
    for (let i = 1; i < starts.length - 1; i += 1)
      expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(195);
  });

  it('without a spacing, a request during a pass gets exactly one more pass', async () => {
    const { drainer, starts: passes } = recordingDrainer({ passMs: 30 });
    const first = drainer.drain();
    // While the pass runs (it takes 30 ms).
    await sleep(10);
    for (let i = 0; i < 5; i += 1) void drainer.drain();
    await first;
    expect(passes).toHaveLength(2);
    await drainer.stop();
    expect(passes).toHaveLength(3);
  });

  it('answers a request after a pass has ended with a pass of its own, and none after stop', async () => {
    const { drainer, starts: passes } = recordingDrainer();
    await drainer.drain();
    expect(passes).toHaveLength(1);
    // After the pass has ended: a new pass, not the finished one's promise.
    await drainer.drain();
    expect(passes).toHaveLength(2);
    await drainer.stop();
    expect(passes).toHaveLength(3);
    await drainer.drain();
    expect(passes).toHaveLength(3);
  });

  it('sends what is left at shutdown without waiting out the spacing', async () => {
    const { drainer, starts } = recordingDrainer({ minSpacingMs: 5_000 });
    await drainer.drain();
    const stopping = performance.now();
    await drainer.stop();
    expect(starts).toHaveLength(2);
    expect((starts[1] as number) - stopping).toBeLessThan(1_000);
  });
});
