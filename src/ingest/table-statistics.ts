import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';

/**
 * Keeps the planner's statistics up with a bulk load. Autovacuum analyses a table only after its naptime (a
 * minute by default) and a share of new rows, so during an initial load or a replay the planner plans the
 * batch lookups (candidates by blocking key, records by source id) for tables it believes nearly empty and picks
 * whole-table hash joins: on bench:ingest one candidate lookup took 134–390 ms before ANALYZE and 45 ms after.
 * So the consumer analyses the tables ingest writes after 2,000, 8,000, 32,000 … messages (×4 each time),
 * outside the batch transactions and one at a time; past a few hundred thousand messages autovacuum keeps up.
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
const last = 512_000;

export class TableStatistics {
  readonly #orm: MikroORM;
  readonly #logger: Logger;
  #applied = 0;
  #next = 2_000;
  #running: Promise<void> | null = null;

  constructor(orm: MikroORM, logger: Logger) {
    this.#orm = orm;
    this.#logger = logger;
  }

  /** Counts applied messages; starts an ANALYZE in the background when the next threshold is crossed. */
  noteApplied(messages: number): void {
    this.#applied += messages;
    if (this.#applied < this.#next || this.#next > last || this.#running) return;
    while (this.#next <= this.#applied) this.#next *= 4;
    const started = performance.now();
    this.#running = this.#orm.em
      .fork()
      .execute(`analyze ${tables.join(', ')}`)
      .then(() =>
        this.#logger.info('table statistics refreshed', {
          afterMessages: this.#applied,
          ms: Math.round(performance.now() - started),
        }),
      )
      .catch((e: unknown) => this.#logger.warn('analyze failed; autovacuum will catch up', { error: e }))
      .finally(() => {
        this.#running = null;
      });
  }

  /** Waits for a running ANALYZE (shutdown). */
  async idle(): Promise<void> {
    await this.#running;
  }
}
