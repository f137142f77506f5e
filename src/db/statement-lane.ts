/**
 * Database work of one transaction run in order, behind the caller's back: the caller queues a job and goes on
 * computing (mapping the next messages) while the database runs it — one connection, two processors busy. A
 * transaction has one connection, so its jobs must never interleave (a job's savepoint must not swallow another
 * job's statements): each starts when the one before it has finished. A job that fails fails every job after it
 * and the next `drain` (the transaction is lost anyway; the first error is the one reported). At most `ahead` jobs
 * wait at a time: `queue` waits for room, so what the jobs hold in memory stays bounded.
 */
export class StatementLane {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;
  readonly #ahead: number;

  constructor(ahead = 2) {
    this.#ahead = ahead;
  }

  async queue(job: () => Promise<unknown>): Promise<void> {
    while (this.#waiting >= this.#ahead) await this.#tail;
    this.#waiting += 1;
    this.#tail = this.#tail.then(async () => {
      this.#waiting -= 1;
      await job();
    });
    // Seen by `drain` or the next `queue`; an unobserved rejection would end the process meanwhile.
    this.#tail.catch(() => {});
  }

  /** Waits for every queued job; throws the first failure. */
  async drain(): Promise<void> {
    await this.#tail;
  }
}
