/**
 * Group commit of partition batches. kafkajs hands over one batch per topic partition; with many partitions and
 * a steady trickle each batch holds a handful of messages, and one transaction per batch spends most of its
 * time on what every transaction costs (stored positions, locks, risk settlement, commit). Batches submitted
 * while earlier ones are being applied wait and are then applied together, in one transaction, up to
 * `maxMessages`; at most `parallel` transactions run at once. Under a bulk load this changes nothing (batches
 * are full anyway); at a trickle it turns dozens of tiny transactions into a few.
 */
type Waiting<P, R> = {
  part: P;
  size: number;
  key: string;
  alone: boolean;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
};

export class GroupCommit<P, R> {
  readonly #apply: (parts: P[]) => Promise<R[]>;
  readonly #sizeOf: (part: P) => number;
  readonly #keyOf: (part: P) => string;
  readonly #maxMessages: number;
  readonly #parallel: number;
  readonly #queue: Waiting<P, R>[] = [];
  #running = 0;
  /** Set while the parts of a transaction that just ended hand over their partitions' next messages. */
  #settling = false;
  #closed: Error | null = null;

  constructor(
    apply: (parts: P[]) => Promise<R[]>,
    opts: { sizeOf: (part: P) => number; keyOf: (part: P) => string; maxMessages: number; parallel: number },
  ) {
    this.#apply = apply;
    this.#sizeOf = opts.sizeOf;
    this.#keyOf = opts.keyOf;
    this.#maxMessages = opts.maxMessages;
    this.#parallel = Math.max(1, opts.parallel);
  }

  /**
   * Resolves with this part's result once the transaction holding it has committed; rejects if it failed.
   * `alone`: in a transaction of its own (a retry: a part that keeps failing must not take others down with it),
   * still within the `parallel` limit — during a database outage every partition retries, and unbounded
   * retries would compete for the connection pool.
   */
  submit(part: P, opts: { alone?: boolean } = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#closed) return reject(this.#closed);
      this.#queue.push({
        part,
        size: this.#sizeOf(part),
        key: this.#keyOf(part),
        alone: opts.alone ?? false,
        resolve,
        reject,
      });
      this.#drain();
    });
  }

  /** Rejects everything still waiting (shutdown: only the transactions already running finish). */
  close(reason: Error): void {
    this.#closed = reason;
    for (const w of this.#queue.splice(0)) w.reject(reason);
  }

  #drain(): void {
    if (this.#settling) return;
    while (this.#running < this.#parallel && this.#queue.length > 0) {
      const group: Waiting<P, R>[] = [this.#queue.shift() as Waiting<P, R>];
      let size = (group[0] as Waiting<P, R>).size;
      // A part joins while it fits, is not to go alone, and is not of a partition already in the group (its
      // chunks must be applied in order, one transaction after the other).
      const keys = new Set([(group[0] as Waiting<P, R>).key]);
      while (!(group[0] as Waiting<P, R>).alone && this.#queue.length > 0) {
        const next = this.#queue[0] as Waiting<P, R>;
        if (next.alone || keys.has(next.key) || size + next.size > this.#maxMessages) break;
        group.push(this.#queue.shift() as Waiting<P, R>);
        keys.add(next.key);
        size += next.size;
      }
      this.#running += 1;
      void this.#apply(group.map((w) => w.part))
        .then(
          (results) => group.forEach((w, i) => w.resolve(results[i] as R)),
          (e: unknown) => group.forEach((w) => w.reject(e)),
        )
        .finally(() => {
          this.#running -= 1;
          // The next transaction starts on the next turn of the event loop, not at once: the partitions that were
          // in this one submit their next messages as their results come back, and they join it instead of
          // waiting for the one after.
          this.#settling = true;
          setImmediate(() => {
            this.#settling = false;
            this.#drain();
          });
        });
    }
  }
}
