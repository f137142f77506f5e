/**
 * The messages kafkajs has handed over and the hub has not yet applied, one lane per topic partition. A lane
 * applies what it holds one step after the other (a partition's messages must be applied in order: a later step
 * applied first would store a position past the earlier one, which would then be skipped), while lanes of
 * different partitions run side by side and meet in group commit. This is what lets kafkajs fetch the next
 * messages while the current transaction runs, instead of after it: the consumer returns to kafkajs as soon as
 * the messages are in their lane. Everything that arrived in a lane while its previous step ran goes in its next
 * step (up to `maxItems`): at a trickle, kafkajs's fetches are small and frequent, and one step per fetch would
 * leave a transaction holding a few messages per partition while the rest wait for the next one.
 *
 * A step that is abandoned (`apply` resolves false: the consumer is stopping) or fails unexpectedly ends its lane:
 * what is queued behind it is dropped unapplied, and `onBroken` is told where the partition must be read again
 * from. Messages handed over afterwards start a new lane.
 */
type Handed<C, T> = { context: C; items: T[] };
type Lane<C, T> = { queue: Handed<C, T>[]; running: Promise<void> | null; broken: boolean };

export class PartitionLanes<C, T> {
  readonly #lanes = new Map<string, Lane<C, T>>();
  readonly #roomWaiters: (() => void)[] = [];
  readonly #apply: (context: C, items: T[]) => Promise<boolean>;
  readonly #onBroken: (context: C, first: T, error: unknown) => void;
  readonly #maxItems: number;
  #pending = 0;

  constructor(opts: {
    /** Applies one step of a lane: its items in order, with the context they were last handed over with. */
    apply: (context: C, items: T[]) => Promise<boolean>;
    /** A step threw: its lane is dropped and the partition must be read again from `first`. */
    onBroken: (context: C, first: T, error: unknown) => void;
    /** Items per step, at most (a single hand-over larger than this goes in a step of its own). */
    maxItems: number;
  }) {
    this.#apply = opts.apply;
    this.#onBroken = opts.onBroken;
    this.#maxItems = opts.maxItems;
  }

  /** Items handed over and not yet applied (or dropped). */
  pendingItems(): number {
    return this.#pending;
  }

  /** Resolves when a step leaves a lane (or `wakeAll` is called). */
  room(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Wakes everyone waiting for room (shutdown). */
  wakeAll(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  /** Queues items behind what the lane `key` already holds. */
  enqueue(key: string, context: C, items: T[]): void {
    if (items.length === 0) return;
    const current = this.#lanes.get(key);
    const lane: Lane<C, T> = current && !current.broken ? current : { queue: [], running: null, broken: false };
    this.#lanes.set(key, lane);
    lane.queue.push({ context, items });
    this.#pending += items.length;
    if (lane.running === null) lane.running = this.#run(key, lane);
  }

  /** Resolves when every lane has applied or dropped what it holds. */
  async idle(): Promise<void> {
    while (this.#lanes.size > 0)
      await Promise.all([...this.#lanes.values()].map((l) => l.running ?? Promise.resolve()));
  }

  async #run(key: string, lane: Lane<C, T>): Promise<void> {
    // Started on the next turn, so that what is handed over in the same turn goes in the first step.
    await Promise.resolve();
    while (lane.queue.length > 0 && !lane.broken) {
      const first = lane.queue.shift() as Handed<C, T>;
      let context = first.context;
      const items = [...first.items];
      while (lane.queue.length > 0 && items.length + (lane.queue[0] as Handed<C, T>).items.length <= this.#maxItems) {
        const next = lane.queue.shift() as Handed<C, T>;
        items.push(...next.items);
        context = next.context;
      }
      let applied: boolean;
      try {
        applied = await this.#apply(context, items);
      } catch (e) {
        applied = false;
        this.#onBroken(context, items[0] as T, e);
      }
      this.#pending -= items.length;
      if (!applied) {
        lane.broken = true;
        for (const dropped of lane.queue.splice(0)) this.#pending -= dropped.items.length;
        this.wakeAll();
      }
      this.#roomWaiters.shift()?.();
    }
    lane.running = null;
    if (this.#lanes.get(key) === lane) this.#lanes.delete(key);
  }
}
