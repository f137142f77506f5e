import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { executeBound } from './bound-sql.ts';
import { marks } from './sql-sets.ts';

/**
 * Settling a durable work queue (risk_work, programme_work: `id`, `work` jsonb, `attempts`, `last_error`,
 * `not_before`), shared by the workers that drain them. Claims up to `limit` due rows (FOR UPDATE SKIP LOCKED),
 * settles them together and deletes them, all in one transaction; returns the rows settled (0: queue empty, or
 * another instance holds the turn). After two failed rounds (`failures`) rows go one at a time, and a row that
 * fails alone has its attempt counted; at `parkAfter` it is parked (kept with its last error, no longer claimed).
 */
export const parkAfter = 5;

export type WorkQueue<W> = {
  table: 'risk_work' | 'programme_work';
  /** What a log line calls one row, e.g. "risk work". */
  label: string;
  /** One settlement at a time across instances: false when another holds the turn. */
  turn(em: EntityManager): Promise<boolean>;
  settle(em: EntityManager, works: W[]): Promise<void>;
};

export async function settleQueue<W>(
  orm: MikroORM,
  queue: WorkQueue<W>,
  opts: { limit: number; failures?: number; logger?: Logger },
): Promise<number> {
  const limit = (opts.failures ?? 0) >= 2 ? 1 : opts.limit;
  let claimed: string[] = [];
  try {
    return await orm.em.fork().transactional(async (em) => {
      if (!(await queue.turn(em))) return 0;
      const rows = await executeBound<{ id: string; work: W }[]>(
        em,
        `select id::text as id, work from ${queue.table} where attempts < ? and not_before <= now() order by id limit ? for update skip locked`,
        [parkAfter, limit],
      );
      claimed = rows.map((r) => r.id);
      if (rows.length === 0) return 0;
      await queue.settle(
        em,
        rows.map((r) => r.work),
      );
      await executeBound(
        em,
        `delete from ${queue.table} where id in (${marks(rows.length)})`,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
  } catch (e) {
    if (claimed.length === 1) {
      const [row] = await executeBound<{ attempts: number }[]>(
        orm.em.fork(),
        `update ${queue.table} set attempts = attempts + 1, last_error = ? where id = ? returning attempts`,
        [e instanceof Error ? e.message : String(e), claimed[0]],
      ).catch(() => []);
      if ((row?.attempts ?? 0) >= parkAfter)
        opts.logger?.error(`${queue.label} parked after repeated failures; the rest of the queue goes on`, {
          workId: claimed[0],
          error: e,
        });
    }
    throw e;
  }
}
