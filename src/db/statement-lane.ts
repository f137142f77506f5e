/**
 * Database work of one transaction run in order, behind the caller's back: the caller queues a job and goes on
 * computing (mapping the next messages) while the database runs it — one connection, two processors busy. A
 * transaction has one connection, so its jobs must never interleave (a job's savepoint must not swallow another
 * job's statements): each starts when the one before it has finished. A job that fails fails every job after it
 * and the next `queue` or `drain` (the transaction is lost anyway; the first error is the one reported). At most
 * `ahead` jobs wait behind the running one: `queue` waits for the oldest to finish, so what the jobs hold in
 * memory stays bounded.
 */
export class StatementLane {
  #tail: Promise<void> = Promise.resolve();
  /** Jobs queued and not finished, oldest first (the first is running). */
  readonly #unfinished: Promise<void>[] = [];
  readonly #ahead: number;

  constructor(ahead = 2) {
    this.#ahead = ahead;
  }

  async queue(job: () => Promise<unknown>): Promise<void> {
    while (this.#unfinished.length > this.#ahead) await this.#unfinished[0];
    const done = this.#tail.then(async () => {
      await job();
    });
    this.#tail = done;
    this.#unfinished.push(done);
    // Seen by `drain` or a later `queue`; an unobserved rejection would end the process meanwhile.
    done
      .catch(() => {})
      .finally(() => {
        this.#unfinished.splice(this.#unfinished.indexOf(done), 1);
      });
  }

  /** Waits for every queued job; throws the first failure. */
  async drain(): Promise<void> {
    await this.#tail;
  }

  /**
   * Runs `work`, which queues jobs, then waits for all of them. If `work` fails, the jobs queued still finish
   * (their own failures ignored: `work`'s error is the one reported) before the error goes on: no job may still
   * be running on the connection when the transaction ends.
   */
  async around<T>(work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (e) {
      await this.drain().catch(() => {});
      throw e;
    }
    await this.drain();
    return result;
  }
}
