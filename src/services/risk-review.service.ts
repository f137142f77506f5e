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
import { type AlertRow, alertColumns, hitColumns, levelOf, type ScreeningHitRow } from './risk.service.ts';

/**
 * The decisions on risk flags: acknowledging and closing alerts, dismissing hits. Four eyes where one person
 * should not decide alone (as for blacklist entries): a hit on a fraud or sanctions list is dismissed when a second risk admin confirms the
 * dismissal someone proposed; an alert closed with a suppression longer than `suppressionLimitDays` is
 * suppressed for that limit at once and for the full period when a second risk admin approves. Other hits are
 * dismissed, and shorter suppressions set, by one underwriter or risk admin.
 */
export type ReviewSettings = { suppressionLimitDays: number; maxSuppressionDays: number };

const fourEyesLists = new Set(['INTERNAL_FRAUD', 'SANCTIONS']);

export class RiskReviewService {
  private readonly em: EntityManager;
  private readonly actor: string;
  private readonly mayApprove: boolean;
  private readonly settings: ReviewSettings;

  /** `mayApprove`: the caller is a risk admin, who may confirm another person's proposal. */
  constructor(em: EntityManager, actor: string, mayApprove: boolean, settings: ReviewSettings) {
    this.em = em;
    this.actor = actor;
    this.mayApprove = mayApprove;
    this.settings = settings;
  }

  /**
   * Dismisses a hit; on a fraud or sanctions list the first call proposes (the hit stays open) and a second
   * risk admin's call confirms. The proposer cannot confirm their own proposal.
   */
  async dismiss(hitId: string, reason: string): Promise<ScreeningHitRow | NotFound | InvalidState | SelfApproval> {
    if (!isUuid(hitId)) return notFound(`screening hit ${hitId} does not exist`);
    return this.em.transactional(async (em) => {
      const [hit] = await executeBound<{ status: string; list: string; proposed_by: string | null }[]>(
        em,
        `select h.status, e.list, h.dismissal_proposed_by as proposed_by from screening_hit h join blacklist_entry e on e.id = h.entry_id
          where h.id = ? for update of h`,
        [hitId],
      );
      if (!hit) return notFound(`screening hit ${hitId} does not exist`);
      if (hit.status === 'DISMISSED') return invalidState('the hit is already dismissed');
      if (fourEyesLists.has(hit.list) && hit.proposed_by === null) {
        await executeBound(
          em,
          `update screening_hit set dismissal_proposed_by = ?, dismissal_proposed_reason = ?, dismissal_proposed_at = now(), updated_at = now() where id = ?`,
          [this.actor, reason, hitId],
        );
      } else if (fourEyesLists.has(hit.list)) {
        if (hit.proposed_by === this.actor)
          return selfApproval('the proposer of a dismissal cannot confirm it: a second risk admin must');
        if (!this.mayApprove) return invalidState('a dismissal on this list is confirmed by a risk admin');
        await this.setDismissed(em, hitId, reason);
      } else {
        await this.setDismissed(em, hitId, reason);
      }
      const [row] = await executeBound<ScreeningHitRow[]>(
        em,
        `select ${hitColumns} from screening_hit h join blacklist_entry e on e.id = h.entry_id where h.id = ?`,
        [hitId],
      );
      return row as ScreeningHitRow;
    });
  }

  private async setDismissed(em: EntityManager, hitId: string, reason: string): Promise<void> {
    await executeBound(
      em,
      `update screening_hit set status = 'DISMISSED', dismissed_by = ?, dismissed_reason = ?, dismissed_at = now(), updated_at = now() where id = ?`,
      [this.actor, reason, hitId],
    );
  }

  /** An underwriter or risk admin has seen the alert and is on it. */
  acknowledge(id: string): Promise<AlertRow | NotFound | InvalidState> {
    return this.alertTransition(id, ['OPEN'], `status = 'ACKNOWLEDGED', acknowledged_by = ?`, [this.actor]);
  }

  /** Closes an alert; a suppression over the limit is proposed, and the limit applies until it is approved. */
  async close(
    id: string,
    reason: string,
    suppressDays: number | null,
  ): Promise<AlertRow | NotFound | InvalidState | ValidationFailure> {
    const { suppressionLimitDays: limit, maxSuppressionDays: max } = this.settings;
    if (suppressDays !== null && (!Number.isInteger(suppressDays) || suppressDays < 1 || suppressDays > max))
      return validationFailure(`suppressDays must be a whole number of days from 1 to ${max}`);
    const now = suppressDays === null ? null : Math.min(suppressDays, limit);
    const proposed = suppressDays !== null && suppressDays > limit ? suppressDays : null;
    return this.alertTransition(
      id,
      ['OPEN', 'ACKNOWLEDGED'],
      `status = 'CLOSED', closed_by = ?, closed_reason = ?,
       suppressed_until = case when ?::int is null then null else now() + make_interval(days => ?::int) end,
       suppression_proposed_by = case when ?::int is null then null else ? end, suppression_proposed_days = ?::int`,
      [this.actor, reason, now, now, proposed, this.actor, proposed],
    );
  }

  /** A second risk admin approves the longer suppression proposed when the alert was closed. */
  async approveSuppression(id: string): Promise<AlertRow | NotFound | InvalidState | SelfApproval> {
    if (!isUuid(id)) return notFound(`alert ${id} does not exist`);
    return this.em.transactional(async (em) => {
      const [row] = await executeBound<{ by: string | null; days: number | null }[]>(
        em,
        `select suppression_proposed_by as by, suppression_proposed_days as days from alert where id = ? for update`,
        [id],
      );
      if (!row) return notFound(`alert ${id} does not exist`);
      if (row.days === null) return invalidState('no suppression is waiting for approval on this alert');
      if (row.by === this.actor)
        return selfApproval('the proposer of a suppression cannot approve it: a second risk admin must');
      return this.alertTransition(
        id,
        ['CLOSED'],
        `suppressed_until = updated_at + make_interval(days => suppression_proposed_days),
         suppression_proposed_by = null, suppression_proposed_days = null`,
        [],
        em,
      );
    });
  }

  private async alertTransition(
    id: string,
    allowed: string[],
    update: string,
    params: unknown[],
    inTx?: EntityManager,
  ): Promise<AlertRow | NotFound | InvalidState> {
    if (!isUuid(id)) return notFound(`alert ${id} does not exist`);
    const run = async (em: EntityManager) => {
      const [row] = await executeBound<{ status: string }[]>(em, `select status from alert where id = ? for update`, [
        id,
      ]);
      if (!row) return notFound(`alert ${id} does not exist`);
      if (!allowed.includes(row.status)) return invalidState(`alert is ${row.status}`);
      await executeBound(em, `update alert set ${update}, updated_at = now() where id = ?`, [...params, id]);
      const [after] = await executeBound<Omit<AlertRow, 'level'>[]>(
        em,
        `select ${alertColumns} from alert where id = ?`,
        [id],
      );
      return { ...(after as Omit<AlertRow, 'level'>), level: levelOf(after?.points ?? 0) };
    };
    return inTx ? run(inTx) : this.em.transactional(run);
  }
}
