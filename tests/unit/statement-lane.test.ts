import { describe, expect, it } from 'vitest';
import { StatementLane } from '../../src/db/statement-lane.ts';

/** src/db/statement-lane.ts: a transaction's jobs run one after another, never interleaved, with bounded backlog. */
describe('statement lane', () => {
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

  it('runs jobs one at a time in the order queued, while the caller goes on', async () => {
    const lane = new StatementLane(2);
    const log: string[] = [];
    let running = 0;
    const job = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running -= 1;
    };
    await lane.queue(job('a'));
    log.push('caller after a');
    await lane.queue(job('b'));
    await lane.queue(job('c')); // two waiting: this waits for room
    await lane.drain();
    expect(log.indexOf('caller after a')).toBeLessThan(log.indexOf('end a'));
    expect(log.filter((l) => l.startsWith('start') || l.startsWith('end'))).toEqual([
      'start a',
      'end a',
      'start b',
      'end b',
      'start c',
      'end c',
    ]);
  });

  it('never has more than `ahead` jobs waiting', async () => {
    const lane = new StatementLane(2);
    let queued = 0;
    let finished = 0;
    let mostWaiting = 0;
    for (let i = 0; i < 10; i += 1) {
      await lane.queue(async () => {
        await tick();
        finished += 1;
      });
      queued += 1;
      mostWaiting = Math.max(mostWaiting, queued - finished);
    }
    await lane.drain();
    expect(finished).toBe(10);
    expect(mostWaiting).toBeLessThanOrEqual(3); // two waiting and one running
  });

  it('fails every job after a failure and reports the first error', async () => {
    const lane = new StatementLane(5);
    const ran: string[] = [];
    await lane.queue(async () => {
      ran.push('a');
      throw new Error('first failure');
    });
    const second = lane.queue(async () => {
      ran.push('b');
    });
    await expect(Promise.all([second, lane.drain()])).rejects.toThrow('first failure');
    expect(ran).toEqual(['a']);
  });
  it('around: waits for the jobs its work queued; when the work fails, its error goes on only after they finished', async () => {
    const lane = new StatementLane();
    const done: string[] = [];
    const result = await lane.around(async () => {
      await lane.queue(async () => {
        await tick();
        done.push('job');
      });
      return 'value';
    });
    expect(result).toBe('value');
    expect(done).toEqual(['job']);

    const failing = new StatementLane();
    const order: string[] = [];
    await expect(
      failing.around(async () => {
        await failing.queue(async () => {
          await tick();
          order.push('job finished');
          throw new Error('the job failed too');
        });
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    order.push('error seen');
    expect(order).toEqual(['job finished', 'error seen']);
  });
});
