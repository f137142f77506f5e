/**
 * Group commit of partition batches. kafkajs hands over one batch per topic partition; with many partitions and
 * a steady trickle each batch holds a handful of messages, and one transaction per batch spends most of its
 * time on what every transaction costs (stored positions, locks, risk settlement, commit). Batches submitted
 * while earlier ones are being applied wait and are then applied together, in one transaction, up to
 * `maxMessages`; at most `parallel` transactions run at once. Under a bulk load this changes nothing (batches
 * are full anyway); at a trickle it turns dozens of tiny transactions into a few.
 */
type Waiting<P, R> = { part: P; size: number; resolve: (r: R) => void; reject: (e: unknown) => void };

export class GroupCommit<P, R> {
  readonly #apply: (parts: P[]) => Promise<R[]>;
  readonly #sizeOf: (part: P) => number;
  readonly #maxMessages: number;
  readonly #parallel: number;
  readonly #queue: Waiting<P, R>[] = [];
  #running = 0;

  constructor(apply: (parts: P[]) => Promise<R[]>, opts: { sizeOf: (part: P) => number; maxMessages: number; parallel: number }) {
    this.#apply = apply;
    this.#sizeOf = opts.sizeOf;
    this.#maxMessages = opts.maxMessages;
    this.#parallel = Math.max(1, opts.parallel);
  }

  /** Resolves with this part's result once the transaction holding it has committed; rejects if it failed. */
  submit(part: P): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ part, size: this.#sizeOf(part), resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#running < this.#parallel && this.#queue.length > 0) {
      const group: Waiting<P, R>[] = [];
      let size = 0;
      while (this.#queue.length > 0 && (group.length === 0 || size + (this.#queue[0] as Waiting<P, R>).size <= this.#maxMessages)) {
        const next = this.#queue.shift() as Waiting<P, R>;
        group.push(next);
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
          this.#drain();
        });
    }
  }
}
