import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { oneRoundAtATime, workerRounds } from '../../src/db/worker-rounds.ts';

/**
 * The pacing of the risk and programme workers' rounds (src/db/worker-rounds.ts), on fake timers: a round's
 * cost lengthens the wait for the next while ingest keeps committing, up to a bound; the stream going quiet
 * starts the next round at once; at a steady rate there is at most one round per roundMs.
 */
describe('worker rounds', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs a round that takes `ms`, reports it settled, and returns when the next round becomes due. */
  async function nextRoundAfter(
    rounds: ReturnType<typeof workerRounds>,
    took: number,
    commitEveryMs: number | null,
    more = false,
    behind = 0,
  ) {
    const started = performance.now();
    await vi.advanceTimersByTimeAsync(took);
    rounds.settled(started, more);
    let due = false;
    const waiting = rounds.untilRound().then(() => {
      due = true;
    });
    const step = commitEveryMs ?? 10;
    for (let t = 0; t < 120_000 && !due; t += step) {
      if (commitEveryMs !== null) rounds.wake(behind);
      await vi.advanceTimersByTimeAsync(step);
    }
    await waiting;
    return performance.now() - started;
  }

  it('waits busyFactor × a long round while ingest keeps committing, and at most maxIntervalMs', async () => {
    const rounds = workerRounds({ roundMs: 200, busyFactor: 4, quietMs: 500, maxIntervalMs: 10_000 });
    // A 1 s round with commits every 100 ms: the next starts 4 s after it started, not 200 ms.
    const interval = await nextRoundAfter(rounds, 1_000, 100);
    expect(interval).toBeGreaterThanOrEqual(4_000);
    expect(interval).toBeLessThan(4_000 + 250);
    // A 5 s round would mean 20 s: held to the bound.
    const capped = await nextRoundAfter(rounds, 5_000, 100);
    expect(capped).toBeGreaterThanOrEqual(10_000);
    expect(capped).toBeLessThan(10_000 + 250);
  });

  it('does not take a gap in commits during a long round for the stream going quiet', async () => {
    const rounds = workerRounds({ roundMs: 200, busyFactor: 4, quietMs: 500 });
    // One commit as the round starts, none while it runs (it shares ingest's thread), commits again after it.
    rounds.wake();
    const interval = await nextRoundAfter(rounds, 2_000, 100);
    expect(interval).toBeGreaterThanOrEqual(8_000);
  });

  it('puts the next round off to maxIntervalMs while commits report a backlog, and goes on once it is applied', async () => {
    const rounds = workerRounds({ roundMs: 200, busyFactor: 4, quietMs: 500, maxIntervalMs: 20_000 });
    // A short round, then commits each leaving 5,000 messages behind: the next round waits 20 s, not 200 ms.
    const interval = await nextRoundAfter(rounds, 100, 100, false, 5_000);
    expect(interval).toBeGreaterThanOrEqual(20_000);
    expect(interval).toBeLessThan(20_000 + 250);

    rounds.settled(performance.now(), false);
    let due = false;
    const waiting = rounds.untilRound().then(() => {
      due = true;
    });
    // A pause in commits longer than quietMs is not the end of the backlog, nor is a wake-up from elsewhere.
    rounds.wake(5_000);
    await vi.advanceTimersByTimeAsync(3_000);
    rounds.wake();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(due).toBe(false);
    // Less than one transaction's worth waits: the next round, long overdue at the ordinary pace, starts at once.
    rounds.wake(1_500);
    await vi.advanceTimersByTimeAsync(100);
    expect(due).toBe(true);
    await waiting;
  });

  it('after a round that found nothing, a commit does not start the next before roundMs', async () => {
    const rounds = workerRounds({ roundMs: 2_000, quietMs: 500 });
    const started = performance.now();
    rounds.wake();
    rounds.tried(started);
    let due = false;
    const waiting = rounds.untilRound().then(() => {
      due = true;
    });
    for (let t = 0; t < 1_900; t += 100) {
      rounds.wake();
      await vi.advanceTimersByTimeAsync(100);
      expect(due).toBe(false);
    }
    await vi.advanceTimersByTimeAsync(200);
    expect(due).toBe(true);
    await waiting;
  });

  it('keeps at most one round per roundMs when rounds are short', async () => {
    const rounds = workerRounds({ roundMs: 2_000, busyFactor: 4, quietMs: 500 });
    const interval = await nextRoundAfter(rounds, 50, 100);
    expect(interval).toBeGreaterThanOrEqual(2_000);
    expect(interval).toBeLessThan(2_000 + 250);
  });

  it('starts the next round once the stream has been quiet for quietMs, with work queued', async () => {
    const rounds = workerRounds({ roundMs: 200, busyFactor: 4, quietMs: 500, maxIntervalMs: 30_000 });
    const started = performance.now();
    await vi.advanceTimersByTimeAsync(3_000);
    rounds.settled(started, false);
    // Commits for another 2 s, then none: due about quietMs after the last one, long before 12 s.
    let due = false;
    const waiting = rounds.untilRound().then(() => {
      due = true;
    });
    let lastCommit = 0;
    for (let t = 0; t < 2_000; t += 100) {
      rounds.wake();
      lastCommit = performance.now();
      await vi.advanceTimersByTimeAsync(100);
      expect(due).toBe(false);
    }
    while (!due) await vi.advanceTimersByTimeAsync(10);
    await waiting;
    const afterQuiet = performance.now() - lastCommit;
    expect(afterQuiet).toBeGreaterThanOrEqual(500);
    expect(afterQuiet).toBeLessThan(500 + 150);
  });

  it('goes on at once after a round that left work queued, when the stream is quiet', async () => {
    const rounds = workerRounds({ roundMs: 200, busyFactor: 4, quietMs: 500 });
    const interval = await nextRoundAfter(rounds, 1_000, null, true);
    // No commit at all, more queued: the next round does not wait for its 4 s.
    expect(interval).toBeLessThan(1_000 + 50);
  });

  it('without work, waits for the poll or a wake-up, and stop() ends any wait', async () => {
    const rounds = workerRounds({ roundMs: 200, pollMs: 1_000 });
    let idled = false;
    const idle = rounds.idle().then(() => {
      idled = true;
    });
    await vi.advanceTimersByTimeAsync(300);
    expect(idled).toBe(false);
    rounds.wake();
    await idle;
    expect(performance.now()).toBeLessThan(400);
    const started = performance.now();
    rounds.settled(started, false);
    const backOff = rounds.backOff(5);
    rounds.stop();
    await backOff;
    await rounds.untilRound();
    expect(rounds.stopping).toBe(true);
    expect(performance.now() - started).toBe(0);
  });
});

describe('rounds that take turns', () => {
  it('runs one round at a time, in the order asked, and goes on after a round that failed', async () => {
    const turns = oneRoundAtATime();
    const log: string[] = [];
    let running = 0;
    const round =
      (name: string, fail = false) =>
      async () => {
        running += 1;
        expect(running).toBe(1);
        log.push(`${name} starts`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`${name} ends`);
        running -= 1;
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const results = await Promise.allSettled([
      turns(round('risk')),
      turns(round('programme', true)),
      turns(round('risk again')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual([
      'risk starts',
      'risk ends',
      'programme starts',
      'programme ends',
      'risk again starts',
      'risk again ends',
    ]);
  });

  it('lets a round asked first go before the waiting rounds that were not', async () => {
    const turns = oneRoundAtATime();
    const log: string[] = [];
    const round = (name: string) => async () => {
      log.push(name);
      await new Promise((r) => setTimeout(r, 5));
    };
    await Promise.all([
      turns(round('programme (running)')),
      turns(round('programme (waiting)')),
      turns(round('risk'), { first: true }),
      turns(round('programme (last)')),
    ]);
    expect(log).toEqual(['programme (running)', 'risk', 'programme (waiting)', 'programme (last)']);
  });
});
