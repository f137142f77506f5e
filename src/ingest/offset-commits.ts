export type TopicPartitionOffset = { topic: string; partition: number; offset: string };

/**
 * Kafka's committed offsets, following the positions the hub stores with its effects. Those stored positions are
 * what makes redelivery exact; Kafka's offset only decides how much is redelivered after a restart or a rebalance,
 * so it may lag. Offsets noted while a commit is on its way are sent together in the next one — one request per
 * transaction instead of one per partition — and commits go one at a time, so an older offset never overtakes a
 * newer one. A failed commit (the group rebalancing, the broker away) is reported and not retried here: the next
 * applied chunk of the partition commits a later offset.
 */
export class OffsetCommits {
  readonly #commit: (offsets: TopicPartitionOffset[]) => Promise<void>;
  readonly #onError: (error: unknown, offsets: TopicPartitionOffset[]) => void;
  readonly #waiting = new Map<string, TopicPartitionOffset>();
  #flushing: Promise<void> | null = null;

  constructor(
    commit: (offsets: TopicPartitionOffset[]) => Promise<void>,
    onError: (error: unknown, offsets: TopicPartitionOffset[]) => void,
  ) {
    this.#commit = commit;
    this.#onError = onError;
  }

  /** The partition's next offset to read, once everything before it is applied. */
  note(offset: TopicPartitionOffset): void {
    this.#waiting.set(`${offset.topic}\u0000${offset.partition}`, offset);
    this.#flush();
  }

  /** Resolves when everything noted so far has been sent (or failed). */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = (async () => {
      // Offsets of the other partitions of the same transaction are noted in the same turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#waiting.size > 0) {
        const offsets = [...this.#waiting.values()];
        this.#waiting.clear();
        await this.#commit(offsets).catch((e: unknown) => this.#onError(e, offsets));
      }
    })().finally(() => {
      this.#flushing = null;
      if (this.#waiting.size > 0) this.#flush();
    });
  }
}
