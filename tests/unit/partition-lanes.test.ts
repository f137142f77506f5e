import { describe, expect, it } from 'vitest';
import { PartitionLanes } from '../../src/ingest/partition-lanes.ts';
import { OffsetCommits, type TopicPartitionOffset } from '../../src/ingest/offset-commits.ts';

/** A promise with its resolve and reject at hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const turn = () => new Promise((r) => setImmediate(r));

type Step = { items: string[] };

/** Lanes whose steps are recorded and wait for the test to finish them. */
function recordedLanes(maxItems = 10) {
  const steps: Step[] = [];
  const gates: ReturnType<typeof deferred<boolean>>[] = [];
  const broken: { context: string; first: string; error: unknown }[] = [];
  const lanes = new PartitionLanes<string, string>({
    maxItems,
    apply: (_context, items) => {
      steps.push({ items });
      const gate = deferred<boolean>();
      gates.push(gate);
      return gate.promise;
    },
    onBroken: (context, first, error) => broken.push({ context, first, error }),
  });
  return { lanes, steps, gates, broken };
}

describe('partition lanes', () => {
  it("applies a partition's messages one step after the other and other partitions' beside them", async () => {
    const { lanes, steps, gates, broken } = recordedLanes();
    lanes.enqueue('p0', 'c', ['a1', 'a2']);
    lanes.enqueue('p1', 'c', ['b1']);
    await turn();
    expect(steps).toEqual([{ items: ['a1', 'a2'] }, { items: ['b1'] }]);
    // Handed over while the lane's first step runs: they wait, and go together in its next step.
    lanes.enqueue('p0', 'c', ['a3']);
    lanes.enqueue('p0', 'c', ['a4', 'a5']);
    await turn();
    expect(steps).toHaveLength(2);
    expect(lanes.pendingItems()).toBe(6);
    gates[0]?.resolve(true);
    await turn();
    expect(steps[2]).toEqual({ items: ['a3', 'a4', 'a5'] });
    expect(lanes.pendingItems()).toBe(4);
    gates[1]?.resolve(true);
    gates[2]?.resolve(true);
    await lanes.idle();
    expect(lanes.pendingItems()).toBe(0);
    expect(broken).toEqual([]);
  });

  it('puts no more than maxItems in a step, unless one hand-over is larger', async () => {
    const { lanes, steps, gates } = recordedLanes(3);
    lanes.enqueue('p0', 'c', ['1', '2']);
    lanes.enqueue('p0', 'c', ['3']);
    lanes.enqueue('p0', 'c', ['4', '5']);
    lanes.enqueue('p0', 'c', ['6', '7', '8', '9']);
    for (let i = 0; i < 3; i++) {
      await turn();
      gates[i]?.resolve(true);
    }
    await lanes.idle();
    expect(steps.map((s) => s.items.join(''))).toEqual(['123', '45', '6789']);
  });

  it('drops what is queued behind an abandoned step, and a later hand-over starts afresh', async () => {
    const { lanes, steps, gates, broken } = recordedLanes(1);
    lanes.enqueue('p0', 'c', ['1']);
    lanes.enqueue('p0', 'c', ['2']);
    await turn();
    gates[0]?.resolve(false);
    await lanes.idle();
    expect(steps.map((s) => s.items.join(''))).toEqual(['1']);
    expect(lanes.pendingItems()).toBe(0);
    expect(broken).toEqual([]);
    lanes.enqueue('p0', 'c', ['1']);
    await turn();
    gates[1]?.resolve(true);
    await lanes.idle();
    expect(steps.map((s) => s.items.join(''))).toEqual(['1', '1']);
  });

  it('reports where to read again from when a step fails, without applying what is behind it', async () => {
    const { lanes, steps, gates, broken } = recordedLanes(1);
    lanes.enqueue('p3', 'first batch', ['40']);
    lanes.enqueue('p3', 'second batch', ['41']);
    await turn();
    gates[0]?.reject(new Error('boom'));
    await lanes.idle();
    expect(steps.map((s) => s.items.join(''))).toEqual(['40']);
    expect(broken).toEqual([{ context: 'first batch', first: '40', error: new Error('boom') }]);
    expect(lanes.pendingItems()).toBe(0);
  });

  it('wakes one waiter for room each time a step ends, and all of them on shutdown', async () => {
    const { lanes, gates } = recordedLanes();
    lanes.enqueue('p0', 'c', ['1', '2', '3']);
    let woken = 0;
    void lanes.room().then(() => woken++);
    void lanes.room().then(() => woken++);
    await turn();
    expect(woken).toBe(0);
    gates[0]?.resolve(true);
    await lanes.idle();
    await turn();
    expect(woken).toBe(1);
    lanes.wakeAll();
    await turn();
    expect(woken).toBe(2);
  });
});

describe('offset commits', () => {
  it('sends the offsets noted in one turn together, the newest per partition, one commit at a time', async () => {
    const sent: TopicPartitionOffset[][] = [];
    const gate = deferred<void>();
    let inFlight = 0;
    let most = 0;
    const commits = new OffsetCommits(
      async (offsets) => {
        inFlight++;
        most = Math.max(most, inFlight);
        sent.push(offsets);
        if (sent.length === 1) await gate.promise;
        inFlight--;
      },
      () => {},
    );
    commits.note({ topic: 't', partition: 0, offset: '10' });
    commits.note({ topic: 't', partition: 1, offset: '5' });
    commits.note({ topic: 't', partition: 0, offset: '12' });
    await turn();
    await turn();
    expect(sent).toEqual([
      [
        { topic: 't', partition: 0, offset: '12' },
        { topic: 't', partition: 1, offset: '5' },
      ],
    ]);
    // Noted while the first commit is on its way: sent after it, together.
    commits.note({ topic: 't', partition: 0, offset: '20' });
    commits.note({ topic: 'u', partition: 0, offset: '1' });
    gate.resolve();
    await commits.idle();
    expect(sent[1]).toEqual([
      { topic: 't', partition: 0, offset: '20' },
      { topic: 'u', partition: 0, offset: '1' },
    ]);
    expect(most).toBe(1);
  });

  it('reports a failed commit and goes on with the next', async () => {
    const errors: unknown[] = [];
    const sent: string[] = [];
    const commits = new OffsetCommits(
      async (offsets) => {
        sent.push(offsets.map((o) => o.offset).join());
        if (sent.length === 1) throw new Error('rebalancing');
      },
      (e) => errors.push(e),
    );
    commits.note({ topic: 't', partition: 0, offset: '1' });
    await commits.idle();
    commits.note({ topic: 't', partition: 0, offset: '2' });
    await commits.idle();
    expect(sent).toEqual(['1', '2']);
    expect(errors).toEqual([new Error('rebalancing')]);
  });
});
