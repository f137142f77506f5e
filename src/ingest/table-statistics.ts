import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { executeBound } from '../db/bound-sql.ts';

/**
 * Keeps the planner's statistics up with a catch-up from an empty or small store (an initial load through
 * streaming, a replay). Autovacuum analyses a table only after its naptime (a minute by default) and a share of new
 * rows, so meanwhile the planner plans the batch lookups (candidates by blocking key, records by source id) for
 * tables it believes nearly empty and walks whole tables: on bench:ingest one candidate lookup took 134–390 ms
 * before ANALYZE and 45 ms after.
 *
 * So every 2,000 applied messages the consumer asks PostgreSQL's activity counters which of the tables ingest
 * writes have changed by at least a third of their rows (and by 1,000 rows) since they were last analysed, and
 * analyses those — outside the batch transactions, one check at a time. Counting messages alone (as this did
 * before) is not enough: with two ingest transactions at once, the first analyse came after a transaction of
 * payments committed while the one holding the first customers had not, recorded `party`, `source_record` and
 * `match_key` as empty (reltuples 0), and a candidate lookup planned for empty tables then ran for minutes. The
 * counters only count committed changes, so a table whose rows were in flight is analysed again once they land.
 * A large table takes a third of its size in changes to qualify again: from there on autovacuum keeps up.
 */
const tables = [
  'party',
  'source_record',
  'match_key',
  'contact_point',
  'party_identifier',
  'activity',
  'policy',
  'policy_cover',
  'policy_role',
  'alert',
];
const checkEvery = 2_000;
/** How long after a backlog was applied its last changes are checked (see noteApplied). */
const afterBacklogMs = 11_000;

export class TableStatistics {
  readonly #orm: MikroORM;
  readonly #logger: Logger;
  #applied = 0;
  #next = checkEvery;
  #running: Promise<void> | null = null;
  /** The consumer has reported a backlog (a step or more of messages waiting) and not yet none waiting. */
  #behind = false;
  #afterBacklog: NodeJS.Timeout | null = null;
  #closed = false;

  readonly #afterBacklogMs: number;

  constructor(orm: MikroORM, logger: Logger, opts: { afterBacklogMs?: number } = {}) {
    this.#orm = orm;
    this.#logger = logger;
    this.#afterBacklogMs = opts.afterBacklogMs ?? afterBacklogMs;
  }

  /**
   * Counts applied messages; past each step of 2,000, analyses (in the background) the tables that grew. Also
   * once a backlog has been applied (`waiting`, the messages still to apply, reached none after having been a
   * step or more): the last stretch of a catch-up would otherwise be analysed only once 2,000 more messages arrive,
   * at the start of the next burst of traffic, whose first transactions then shared the cores with ANALYZE and
   * planned their statements afresh (seen at the start of bench:ingest's freshness phase). That check waits
   * `afterBacklogMs` (11 s): a backend reports its last changes to the counters only when it has been idle for a while
   * (PostgreSQL's statistics flush every second at most, and an idle session's pending ones after 10 s).
   */
  noteApplied(messages: number, waiting = 0): void {
    if (this.#closed) return;
    this.#applied += messages;
    if (waiting >= checkEvery) this.#behind = true;
    if (this.#behind && waiting === 0) {
      this.#behind = false;
      if (this.#afterBacklog) clearTimeout(this.#afterBacklog);
      this.#afterBacklog = setTimeout(() => {
        this.#afterBacklog = null;
        if (!this.#running) this.#check();
      }, this.#afterBacklogMs);
      this.#afterBacklog.unref();
    }
    if (this.#applied < this.#next || this.#running) return;
    this.#check();
  }

  #check(): void {
    if (this.#closed) return;
    this.#next = this.#applied + checkEvery;
    this.#running = this.refresh()
      .then(() => {})
      .catch((e: unknown) => this.#logger.warn('analyze failed; autovacuum will catch up', { error: e }))
      .finally(() => {
        this.#running = null;
      });
  }

  /** Analyses the tables that changed by a third of their rows since their last analyse; returns their names. */
  async refresh(): Promise<string[]> {
    const em = this.#orm.em.fork();
    const grown = await executeBound<{ relname: string }[]>(
      em,
      // The counters read directly, for these tables only: pg_stat_user_tables computes every counter of every
      // table in the database (~20 ms a call on bench:ingest's store; this is ~0.1 ms).
      `select c.relname from pg_class c
        where c.oid = any(?::regclass[])
          and pg_stat_get_mod_since_analyze(c.oid) >= 1000
          and pg_stat_get_mod_since_analyze(c.oid) * 3 >= pg_stat_get_live_tuples(c.oid)
        order by c.relname`,
      [tables],
    );
    if (grown.length === 0) return [];
    const names = grown.map((r) => r.relname);
    const started = performance.now();
    await em.execute(`analyze ${names.join(', ')}`);
    this.#logger.info('table statistics refreshed', {
      tables: names,
      afterMessages: this.#applied,
      ms: Math.round(performance.now() - started),
    });
    return names;
  }

  /** Starts no more checks and waits for a running ANALYZE (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#afterBacklog) clearTimeout(this.#afterBacklog);
    this.#afterBacklog = null;
    await this.#running;
  }
}
