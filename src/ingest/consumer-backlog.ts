/**
 * How many messages this consumer knows are waiting to be applied, over all its partitions: for each, from the
 * next offset to apply to the latest high watermark a fetch reported. It counts what is still in the broker and
 * what was fetched and waits in the partition lanes alike — after an outage a backlog spread over many small
 * partitions is fetched at once and sits in the lanes, where a per-partition lag after each commit reads 0.
 * The workers beside ingest pace their rounds by it (src/db/worker-rounds.ts). A partition not heard of for
 * `forgetAfterMs` no longer counts (it is idle and then has nothing waiting); after a rebalance only the partitions
 * assigned count.
 */
export class ConsumerBacklog {
  readonly #partitions = new Map<string, { highWatermark: bigint; next: bigint; at: number }>();
  /** The partitions assigned at the last rebalance; null before the first (every partition counts). */
  #assigned: Set<string> | null = null;
  readonly #forgetAfterMs: number;

  constructor(forgetAfterMs = 30_000) {
    this.#forgetAfterMs = forgetAfterMs;
  }

  /** A fetched batch of `partition` starting at `firstOffset`, with the partition's high watermark. */
  fetched(partition: string, firstOffset: string, highWatermark: string): void {
    // A batch of a partition revoked in the rebalance may still arrive; it will not be applied here.
    if (this.#assigned && !this.#assigned.has(partition)) return;
    const known = this.#partitions.get(partition);
    const at = performance.now();
    if (known) {
      known.highWatermark = BigInt(highWatermark);
      known.at = at;
    } else this.#partitions.set(partition, { highWatermark: BigInt(highWatermark), next: BigInt(firstOffset), at });
  }

  /** Messages of `partition` applied up to (not including) `next`. */
  applied(partition: string, next: string): void {
    const known = this.#partitions.get(partition);
    if (known) {
      known.next = BigInt(next);
      known.at = performance.now();
    }
  }

  /** The partitions assigned to this consumer after a rebalance (topic → partitions): the others no longer count. */
  assigned(assignment: Record<string, number[]>): void {
    const mine = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`)));
    this.#assigned = mine;
    for (const partition of this.#partitions.keys()) if (!mine.has(partition)) this.#partitions.delete(partition);
  }

  /** Messages waiting over all partitions heard of lately. */
  waiting(): number {
    const now = performance.now();
    let total = 0n;
    for (const [partition, p] of this.#partitions) {
      if (now - p.at > this.#forgetAfterMs) this.#partitions.delete(partition);
      else if (p.highWatermark > p.next) total += p.highWatermark - p.next;
    }
    return Number(total);
  }
}
