import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import { type InvalidState, invalidState, isErrorResult, type NotFound, notFound } from '../domain/results.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Party, ReviewTask, SourceRecord } from '../model/index.ts';
import { mergeParties, splitRecord } from '../sync/identity.ts';
import { newProgrammeWork, queueProgrammeWork } from '../programme/programme-work.ts';
import { recomputeParty } from '../sync/survivorship.ts';
import { decodeCursor, encodeCursor, pageSize, pageOf } from './pagination.ts';
import type { Connection } from './customer.service.ts';

/**
 * Data stewardship: the review queue and manual merge / split. Every decision runs in one transaction, is
 * recorded in the golden records' history with cause STEWARD_ACTION and who decided, and expected failures
 * come back as typed results (NotFoundError, InvalidStateError), not exceptions.
 */

export class StewardshipService {
  private readonly em: EntityManager;
  private readonly actor: string;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
  }

  /** Records that may be this customer's but are not linked: the open review tasks naming it as the candidate. */
  possibleMatches(partyId: string): Promise<ReviewTask[]> {
    return this.em.find(
      ReviewTask,
      { candidatePartyId: partyId, status: 'OPEN' },
      { orderBy: { probability: 'desc', id: 'asc' }, limit: 50 },
    );
  }

  async list(
    status: ReviewTask['status'],
    first?: number | null,
    after?: string | null,
  ): Promise<Connection<{ cursor: string; node: ReviewTask }>> {
    const limit = pageSize(first);
    const from = decodeCursor(after, 'review', (v): v is string => typeof v === 'string');
    const rows = await this.em.find(
      ReviewTask,
      { status, ...(from ? { id: { $gt: from } } : {}) },
      { orderBy: { id: 'asc' }, limit: limit + 1 },
    );
    return pageOf(rows, limit, from !== null, (node) => encodeCursor('review', node.id));
  }

  /** One review task by id (Query.node). */
  async task(id: string): Promise<ReviewTask | null> {
    if (!isUuid(id)) return null;
    return this.em.findOne(ReviewTask, { id: id.toLowerCase() });
  }

  private async openTask(em: EntityManager, taskId: string): Promise<ReviewTask | NotFound | InvalidState> {
    if (!isUuid(taskId)) return notFound(`review task ${taskId} does not exist`);
    const [task] = await executeBound<{ id: string; status: string }[]>(
      em,
      `select id, status from review_task where id = ? for update`,
      [taskId],
    );
    if (!task) return notFound(`review task ${taskId} does not exist`);
    if (task.status !== 'OPEN') return invalidState(`review task ${taskId} is already ${task.status}`);
    return (await em.findOneOrFail(ReviewTask, { id: taskId }, { refresh: true })) as ReviewTask;
  }

  async confirm(taskId: string): Promise<ReviewTask | NotFound | InvalidState> {
    return this.em.transactional(async (em) => {
      const task = await this.openTask(em, taskId);
      if (isErrorResult(task)) return task;
      const [record] = await executeBound<{ party_id: string | null }[]>(
        em,
        `select party_id from source_record where id = ? for no key update`,
        [task.sourceRecordId],
      );
      const [candidate] = await executeBound<{ id: string; status: string; merged_into_id: string | null }[]>(
        em,
        `select id, status, merged_into_id from party where id = ? for no key update`,
        [task.candidatePartyId],
      );
      if (!record?.party_id || !candidate) return notFound("the task's record or candidate no longer exists");
      const target =
        candidate.status === 'MERGED' && candidate.merged_into_id ? candidate.merged_into_id : candidate.id;
      if (record.party_id !== target) {
        const [older] = await executeBound<{ id: string }[]>(
          em,
          `select id from party where id in (?, ?) order by created_at, id limit 1`,
          [target, record.party_id],
        );
        const survivor = older?.id ?? target;
        await mergeParties(em, survivor, survivor === target ? record.party_id : target, 'STEWARD_ACTION', {
          by: this.actor,
          reviewTask: taskId,
        });
      }
      await executeBound(em, `update source_record set link_type = 'MANUAL', linked_at = now() where id = ?`, [
        task.sourceRecordId,
      ]);
      await executeBound(
        em,
        `update review_task set status = 'CONFIRMED', decided_by = ?, decided_at = now() where id = ?`,
        [this.actor, taskId],
      );
      return (await em.findOneOrFail(ReviewTask, { id: taskId }, { refresh: true })) as ReviewTask;
    });
  }

  async reject(taskId: string, reason: string | null): Promise<ReviewTask | NotFound | InvalidState> {
    return this.em.transactional(async (em) => {
      const task = await this.openTask(em, taskId);
      if (isErrorResult(task)) return task;
      await executeBound(
        em,
        `insert into match_rejection (source_record_id, party_id, rejected_by) values (?, ?, ?) on conflict do nothing`,
        [task.sourceRecordId, task.candidatePartyId, this.actor],
      );
      await executeBound(
        em,
        `update review_task set status = 'REJECTED', decided_by = ?, decided_at = now(), reason = ? where id = ?`,
        [this.actor, reason, taskId],
      );
      return (await em.findOneOrFail(ReviewTask, { id: taskId }, { refresh: true })) as ReviewTask;
    });
  }

  async merge(survivorId: string, mergedId: string, reason: string | null): Promise<Party | NotFound | InvalidState> {
    if (survivorId === mergedId) return invalidState('a customer cannot be merged into itself');
    if (!isUuid(survivorId) || !isUuid(mergedId)) return notFound('customer not found');
    return this.em.transactional(async (em) => {
      const rows = await executeBound<{ id: string; status: string }[]>(
        em,
        `select id, status from party where id in (?, ?) order by id for no key update`,
        [survivorId, mergedId],
      );
      for (const id of [survivorId, mergedId]) {
        const row = rows.find((r) => r.id === id);
        if (!row) return notFound(`customer ${id} does not exist`);
        if (row.status === 'MERGED') return invalidState(`customer ${id} was already merged into another customer`);
      }
      await mergeParties(em, survivorId, mergedId, 'STEWARD_ACTION', { by: this.actor, reason });
      await queueValues(em, [survivorId, mergedId]);
      return (await em.findOneOrFail(Party, { id: survivorId }, { refresh: true })) as Party;
    });
  }

  async split(system: string, sourceId: string, reason: string | null): Promise<Party | NotFound | InvalidState> {
    return this.em.transactional(async (em) => {
      const record = await em.findOne(SourceRecord, { system, sourceId });
      if (!record || record.deleted) return notFound(`source record ${system}/${sourceId} does not exist`);
      const [others] = await executeBound<{ n: number }[]>(
        em,
        `select count(*)::int as n from source_record where party_id = ? and id <> ? and not deleted`,
        [record.partyId, record.id],
      );
      if ((others?.n ?? 0) === 0)
        return invalidState(`${system}/${sourceId} is the only record of its customer; there is nothing to split from`);
      const moved = await splitRecord(em, record.id, 'STEWARD_ACTION', { by: this.actor, reason });
      if (!moved) return notFound(`source record ${system}/${sourceId} is not linked`);
      await recomputeParty(em, moved.to, 'STEWARD_ACTION', { by: this.actor, reason });
      await queueValues(
        em,
        [record.partyId, moved.to].filter((id): id is string => typeof id === 'string'),
      );
      return (await em.findOneOrFail(Party, { id: moved.to }, { refresh: true })) as Party;
    });
  }
}

/** The customers a steward's merge or split changed: their programme values are derived again by the worker. */
async function queueValues(em: EntityManager, partyIds: string[]): Promise<void> {
  const work = newProgrammeWork();
  for (const id of partyIds) work.customers.add(id);
  await queueProgrammeWork(em, work);
}
