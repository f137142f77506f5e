import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsumerBacklog } from '../../src/ingest/consumer-backlog.ts';

/**
 * The messages a consumer knows are waiting (src/ingest/consumer-backlog.ts): those still in the broker and those
 * fetched into the lanes and not yet applied alike, over all partitions; a partition not heard of for a while
 * stops counting.
 */
describe('consumer backlog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts fetched and unfetched messages until they are applied, over every partition', () => {
    const backlog = new ConsumerBacklog();
    // Two small partitions fetched whole: nothing is behind their high watermarks in the broker, all of it waits.
    backlog.fetched('a/0', '0', '300');
    backlog.fetched('a/1', '100', '400');
    expect(backlog.waiting()).toBe(600);
    backlog.applied('a/0', '300');
    expect(backlog.waiting()).toBe(300);
    // A later fetch moves the high watermark, not the next offset to apply.
    backlog.fetched('a/1', '400', '1400');
    expect(backlog.waiting()).toBe(1_300);
    backlog.applied('a/1', '1400');
    expect(backlog.waiting()).toBe(0);
  });

  it('counts only the partitions assigned after a rebalance', () => {
    const backlog = new ConsumerBacklog();
    backlog.fetched('a/0', '0', '5000');
    backlog.fetched('a/1', '0', '50');
    backlog.fetched('b/0', '0', '7');
    backlog.assigned({ a: [1], b: [0] });
    expect(backlog.waiting()).toBe(57);
    // A batch of a revoked partition that arrives after the rebalance is not counted: it will not be applied here.
    backlog.fetched('a/0', '0', '9000');
    expect(backlog.waiting()).toBe(57);
  });

  it('forgets a partition it has not heard of for a while', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const backlog = new ConsumerBacklog(10_000);
    backlog.fetched('a/0', '0', '5000');
    vi.advanceTimersByTime(5_000);
    backlog.fetched('a/1', '0', '50');
    expect(backlog.waiting()).toBe(5_050);
    vi.advanceTimersByTime(6_000);
    expect(backlog.waiting()).toBe(50);
  });
});
