import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { loadProgrammeConfig } from './config.ts';
import { programmeTurn } from './programme-work.ts';
import { refreshValues, today } from './value.ts';

/**
 * Recompute jobs: every active golden customer's value, lifecycle, tier and segments computed again, in chunks
 * of `chunkSize` customers by id (keyset: `cursor` is the last id done), each chunk in its own transaction with
 * the job's progress (`done` of `total`), so a job survives a restart where it stopped and its progress is
 * queryable (`programmeJob(id)`). RECOMPUTE follows a configuration change; REFRESH runs daily, because tenure,
 * NEW and LAPSING depend on the calendar as well as on events.
 */
export type ProgrammeJobRow = {
  id: string;
  kind: 'RECOMPUTE' | 'REFRESH';
  status: 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';
  reason: string;
  configVersion: number;
  total: number | null;
  done: number;
  requestedBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
};

export const jobColumns = `id::text as id, kind, status, reason, config_version as "configVersion", total, done, requested_by as "requestedBy",
  created_at as "createdAt", started_at as "startedAt", finished_at as "finishedAt", error`;

export async function queueJob(
  em: EntityManager,
  kind: ProgrammeJobRow['kind'],
  reason: string,
  actor: string,
): Promise<ProgrammeJobRow> {
  const config = await loadProgrammeConfig(em);
  const [row] = await executeBound<ProgrammeJobRow[]>(
    em,
    `insert into programme_job (id, kind, reason, config_version, requested_by, total)
     values (?::uuid, ?, ?, ?, ?, (select count(*)::int from party where status = 'ACTIVE')) returning ${jobColumns}`,
    [randomUUID(), kind, reason, config.version, actor],
  );
  return row as ProgrammeJobRow;
}

/** Runs the next chunk of the oldest unfinished job; false when there is none (or another instance has the turn). */
export async function runJobChunk(orm: MikroORM, chunkSize = 500): Promise<boolean> {
  return orm.em.fork().transactional(async (em) => {
    if (!(await programmeTurn(em))) return false;
    const [job] = await executeBound<{ id: string; cursor: string | null; status: string }[]>(
      em,
      `select id::text as id, cursor::text as cursor, status from programme_job where status in ('QUEUED', 'RUNNING')
        order by created_at, id limit 1 for update skip locked`,
    );
    if (!job) return false;
    const ids = await executeBound<{ id: string }[]>(
      em,
      `select id::text as id from party where status = 'ACTIVE' ${job.cursor ? 'and id > ?::uuid' : ''} order by id limit ?`,
      job.cursor ? [job.cursor, chunkSize] : [chunkSize],
    );
    const config = await loadProgrammeConfig(em);
    await refreshValues(
      em,
      ids.map((r) => r.id),
      config,
      await today(em),
    );
    const last = ids[ids.length - 1]?.id ?? job.cursor;
    const finished = ids.length < chunkSize;
    if (finished)
      // Customers no longer active (merged away, all records deleted) lose their value rows.
      await executeBound(
        em,
        `delete from customer_value cv where not exists (select 1 from party p where p.id = cv.party_id and p.status = 'ACTIVE')`,
      );
    await executeBound(
      em,
      `update programme_job set status = ?, done = done + ?, cursor = ?::uuid, started_at = coalesce(started_at, now()),
              finished_at = case when ? then now() end, total = case when ? then done + ? else greatest(total, done + ?) end where id = ?::uuid`,
      [finished ? 'DONE' : 'RUNNING', ids.length, last, finished, finished, ids.length, ids.length, job.id],
    );
    return true;
  });
}

/** Queues a REFRESH when no job was queued in the last `hours` (the worker asks now and then). */
export async function ensureRefresh(orm: MikroORM, hours: number): Promise<boolean> {
  return orm.em.fork().transactional(async (em) => {
    const [recent] = await executeBound<{ recent: boolean }[]>(
      em,
      `select exists (select 1 from programme_job where created_at > now() - make_interval(hours => ?::int)) as recent`,
      [hours],
    );
    if (recent?.recent) return false;
    await executeBound(em, `select pg_advisory_xact_lock(hashtextextended('hub:programme-refresh', 0))`);
    const [again] = await executeBound<{ recent: boolean }[]>(
      em,
      `select exists (select 1 from programme_job where created_at > now() - make_interval(hours => ?::int)) as recent`,
      [hours],
    );
    if (again?.recent) return false;
    await queueJob(em, 'REFRESH', `daily refresh (tenure and calendar-dependent stages)`, 'system');
    return true;
  });
}
