import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import {
  type InvalidState,
  invalidState,
  type NotFound,
  notFound,
  type SelfApproval,
  selfApproval,
  type ValidationFailure,
  validationFailure,
} from '../domain/results.ts';
import { erasePerson } from './erasure.ts';
import { exportSubjectData, personIds, type SubjectAccessExport } from './subject-access.service.ts';

/**
 * Personal-information rights for data stewards: the access export and erasure. Erasure cannot be undone, so
 * it takes four eyes like the other destructive decisions of the hub (blacklist entries, sanctions dismissals):
 * one steward requests it with a reason, a second steward approves and it runs in that transaction. Both are
 * logged in `rights_request` (who, who approved, why, when, counts per table — no personal values).
 */
export type RightsRequestRow = {
  id: string;
  kind: 'ACCESS' | 'ERASURE';
  customerId: string;
  status: 'PROPOSED' | 'DONE' | 'CANCELLED';
  reason: string;
  requestedBy: string;
  requestedAt: Date;
  approvedBy: string | null;
  doneAt: Date | null;
  summary: Record<string, unknown>;
};

const columns = `id::text, kind, party_id::text as "customerId", status, reason, requested_by as "requestedBy", requested_at as "requestedAt",
  approved_by as "approvedBy", done_at as "doneAt", summary`;

export class RightsService {
  private readonly em: EntityManager;
  private readonly actor: string;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
  }

  exportData(customerId: string, reason: string): Promise<SubjectAccessExport | NotFound | ValidationFailure> {
    if (reason.trim().length < 3) return Promise.resolve(validationFailure('say why the data is exported'));
    return exportSubjectData(this.em.fork(), customerId, this.actor, reason.trim());
  }

  /** Requests the erasure of a customer (and the ids merged into it); a second steward approves. */
  async requestErasure(
    customerId: string,
    reason: string,
  ): Promise<RightsRequestRow | NotFound | InvalidState | ValidationFailure> {
    if (reason.trim().length < 3) return validationFailure('say why the customer is erased (the request, its date)');
    return this.em.fork().transactional(async (em) => {
      const person = await personIds(em, customerId);
      if (!person) return notFound(`customer ${customerId} does not exist`);
      if (person.status === 'ERASED') return invalidState(`customer ${person.goldenId} is already erased`);
      const [open] = await executeBound<{ id: string }[]>(
        em,
        `select id::text from rights_request where party_id = ?::uuid and kind = 'ERASURE' and status = 'PROPOSED' for update`,
        [person.goldenId],
      );
      if (open) return invalidState(`an erasure of this customer is already waiting for approval (${open.id})`);
      const [row] = await executeBound<RightsRequestRow[]>(
        em,
        `insert into rights_request (kind, party_id, status, reason, requested_by) values ('ERASURE', ?::uuid, 'PROPOSED', ?, ?) returning ${columns}`,
        [person.goldenId, reason.trim(), this.actor],
      );
      return row as RightsRequestRow;
    });
  }

  /** A second steward approves: the person is erased in this transaction and the request is done. */
  async approveErasure(requestId: string): Promise<RightsRequestRow | NotFound | InvalidState | SelfApproval> {
    if (!isUuid(requestId)) return notFound(`erasure request ${requestId} does not exist`);
    return this.em.fork().transactional(async (em) => {
      const [request] = await executeBound<RightsRequestRow[]>(
        em,
        `select ${columns} from rights_request where id = ?::uuid and kind = 'ERASURE' for update`,
        [requestId],
      );
      if (!request) return notFound(`erasure request ${requestId} does not exist`);
      if (request.status !== 'PROPOSED') return invalidState(`erasure request ${requestId} is ${request.status}`);
      if (request.requestedBy === this.actor)
        return selfApproval('the steward who requested an erasure cannot approve it: a second data steward must');
      const person = await personIds(em, request.customerId);
      if (!person) return notFound(`customer ${request.customerId} does not exist`);
      // A customer merged into another since the request: the request covers the person, now under the survivor.
      const summary = await erasePerson(em, person, {
        by: request.requestedBy,
        approvedBy: this.actor,
        request: request.id,
      });
      const [done] = await executeBound<RightsRequestRow[]>(
        em,
        `update rights_request set status = 'DONE', approved_by = ?, done_at = now(), summary = ?::jsonb where id = ?::uuid returning ${columns}`,
        [this.actor, JSON.stringify(summary), request.id],
      );
      return done as RightsRequestRow;
    });
  }

  async cancelErasure(requestId: string): Promise<RightsRequestRow | NotFound | InvalidState> {
    if (!isUuid(requestId)) return notFound(`erasure request ${requestId} does not exist`);
    const [row] = await executeBound<RightsRequestRow[]>(
      this.em.fork(),
      `update rights_request set status = 'CANCELLED', approved_by = ?, done_at = now()
        where id = ?::uuid and kind = 'ERASURE' and status = 'PROPOSED' returning ${columns}`,
      [this.actor, requestId],
    );
    return row ?? invalidState(`erasure request ${requestId} is not waiting for approval`);
  }

  list(status: RightsRequestRow['status'] | null, customerId: string | null): Promise<RightsRequestRow[]> {
    return executeBound<RightsRequestRow[]>(
      this.em,
      `select ${columns} from rights_request where (?::text is null or status = ?) and (?::uuid is null or party_id = ?::uuid)
        order by requested_at desc limit 200`,
      [
        status,
        status,
        customerId && isUuid(customerId) ? customerId : null,
        customerId && isUuid(customerId) ? customerId : null,
      ],
    );
  }
}
