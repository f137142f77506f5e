import { executeBound } from '../db/bound-sql.ts';
import { type NotFound, notFound, type ValidationFailure, validationFailure } from '../domain/results.ts';
import { isUuid } from '../domain/errors.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, pageSize, pageOf } from './pagination.ts';
import type { Connection } from './customer.service.ts';
import {
  approveEntry,
  deactivateEntry,
  proposeEntry,
  rejectEntry,
  type Failure,
  type ProposeInput,
} from '../risk/blacklist.service.ts';
import { approveBatch } from '../risk/list-import.ts';

/** Read side and mutations of the risk area for GraphQL; every mutation runs in one transaction. */
export type BlacklistEntryRow = {
  id: string;
  list: 'INTERNAL_FRAUD' | 'BAD_DEBT' | 'SANCTIONS' | 'ALLOW';
  status: 'PROPOSED' | 'ACTIVE' | 'INACTIVE' | 'EXPIRED' | 'SUSPENDED' | 'REJECTED';
  idNumber: string | null;
  fullName: string | null;
  birthDate: string | null;
  phone: string | null;
  bankAccount: string | null;
  creditCode: string | null;
  reason: string;
  authority: string | null;
  listedOn: string;
  effectiveFrom: string | null;
  effectiveTo: string | null;
  proposedBy: string;
  approvedBy: string | null;
  version: number;
};
export type ScreeningHitRow = {
  id: string;
  partyId: string;
  entryId: string;
  list: BlacklistEntryRow['list'];
  score: number;
  matched: string[];
  status: string;
  dismissedBy: string | null;
  dismissedReason: string | null;
  dismissalProposedBy: string | null;
  dismissalProposedReason: string | null;
};
export type RiskFlagModel = {
  kind: 'BLACKLIST_HIT' | 'INVALID_IDENTIFIER' | 'ALERT';
  level: 'LOW' | 'MEDIUM' | 'HIGH';
  reason: string;
  hit: ScreeningHitRow | null;
  alert: AlertRow | null;
};
export type AlertRow = {
  id: string;
  partyId: string;
  rule: string;
  ruleVersion: number;
  status: 'OPEN' | 'ACKNOWLEDGED' | 'CLOSED';
  level: 'LOW' | 'MEDIUM' | 'HIGH';
  points: number;
  evidence: Record<string, unknown>;
  explanation: string;
  acknowledgedBy: string | null;
  closedBy: string | null;
  closedReason: string | null;
  suppressedUntil: Date | null;
  suppressionProposedBy: string | null;
  suppressionProposedDays: number | null;
  createdAt: Date;
  updatedAt: Date;
};
export type AlertRuleRow = {
  code: string;
  kind: string;
  params: Record<string, unknown>;
  points: number;
  enabled: boolean;
  version: number;
  updatedBy: string;
};
/** Severity tiers: points map to levels (weak signals add up through several rules). */
export type RiskAssessmentModel = {
  level: 'LOW' | 'MEDIUM' | 'HIGH';
  score: number;
  reasons: { kind: 'ALERT' | 'BLACKLIST_HIT'; code: string; points: number; share: number; explanation: string }[];
};
/** What an exact hit on each list weighs in a risk assessment (ALLOW is a list of known false positives). */
const listPoints: Record<string, number> = { SANCTIONS: 100, INTERNAL_FRAUD: 60, BAD_DEBT: 30, ALLOW: 0 };
export const levelOf = (points: number): AlertRow['level'] => (points >= 40 ? 'HIGH' : points >= 30 ? 'MEDIUM' : 'LOW');
export const alertColumns = `id, party_id as "partyId", rule_code as rule, rule_version as "ruleVersion", status, points, evidence, explanation, acknowledged_by as "acknowledgedBy",
  closed_by as "closedBy", closed_reason as "closedReason", suppressed_until as "suppressedUntil", suppression_proposed_by as "suppressionProposedBy", suppression_proposed_days as "suppressionProposedDays", created_at as "createdAt", updated_at as "updatedAt"`;
type RuleFailure = NotFound | ValidationFailure;
export type AuditRow = { action: string; actor: string; detail: string; at: Date };

const entryColumns = `id, list, status, id_number as "idNumber", full_name as "fullName", to_char(birth_date, 'YYYY-MM-DD') as "birthDate", phone_key as phone,
  bank_account as "bankAccount", credit_code as "creditCode", reason, authority, to_char(listed_on, 'YYYY-MM-DD') as "listedOn",
  to_char(effective_from, 'YYYY-MM-DD') as "effectiveFrom", to_char(effective_to, 'YYYY-MM-DD') as "effectiveTo", proposed_by as "proposedBy", approved_by as "approvedBy", version`;
export const hitColumns = `h.id, h.party_id as "partyId", h.entry_id as "entryId", e.list, h.score, h.matched, h.status, h.dismissed_by as "dismissedBy", h.dismissed_reason as "dismissedReason",
  h.dismissal_proposed_by as "dismissalProposedBy", h.dismissal_proposed_reason as "dismissalProposedReason"`;

export class RiskService {
  private readonly em: EntityManager;
  private readonly actor: string;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
  }

  /** One alert by id (Query.node). */
  async alert(id: string): Promise<AlertRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await executeBound<Omit<AlertRow, 'level'>[]>(
      this.em,
      `select ${alertColumns} from alert where id = ?`,
      [id.toLowerCase()],
    );
    return row ? { ...row, level: levelOf(row.points) } : null;
  }

  async entry(id: string): Promise<BlacklistEntryRow | null> {
    const [row] = await executeBound<BlacklistEntryRow[]>(
      this.em,
      `select ${entryColumns} from blacklist_entry where id = ?`,
      [id],
    );
    return row ?? null;
  }

  async entries(args: {
    list?: string | null;
    status?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<{ cursor: string; node: BlacklistEntryRow }>> {
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, 'blacklist', (v): v is string => typeof v === 'string');
    const where = ['true'];
    const params: unknown[] = [];
    if (args.list) where.push('list = ?'), params.push(args.list);
    if (args.status) where.push('status = ?'), params.push(args.status);
    if (after) where.push('id > ?'), params.push(after);
    const rows = await executeBound<BlacklistEntryRow[]>(
      this.em,
      `select ${entryColumns} from blacklist_entry where ${where.join(' and ')} order by id limit ?`,
      [...params, limit + 1],
    );
    return pageOf(rows, limit, after !== null, (node) => encodeCursor('blacklist', node.id));
  }

  async audit(entryId: string): Promise<AuditRow[]> {
    const rows = await executeBound<{ action: string; actor: string; detail: unknown; at: Date }[]>(
      this.em,
      `select action, actor, detail, at from blacklist_audit where entry_id = ? order by at, id`,
      [entryId],
    );
    return rows.map((r) => ({ ...r, detail: JSON.stringify(r.detail) }));
  }

  /** Open (not dismissed) hits and invalid identifiers of a customer, as flags with a level. */
  async flags(partyId: string): Promise<RiskFlagModel[]> {
    const hits = await executeBound<ScreeningHitRow[]>(
      this.em,
      `select ${hitColumns} from screening_hit h join blacklist_entry e on e.id = h.entry_id where h.party_id = ? and h.status = 'OPEN' and e.status = 'ACTIVE' order by h.score desc`,
      [partyId],
    );
    const invalid = await executeBound<{ type: string; issues: string[] }[]>(
      this.em,
      `select type, issues from party_identifier where party_id = ? and not valid`,
      [partyId],
    );
    return [
      ...hits.map(
        (hit): RiskFlagModel => ({
          kind: 'BLACKLIST_HIT',
          level: hit.score >= 0.9 ? 'HIGH' : hit.score >= 0.7 ? 'MEDIUM' : 'LOW',
          reason: `${hit.list} list entry matched on ${hit.matched.join(', ')}`,
          hit,
          alert: null,
        }),
      ),
      ...(await this.openAlerts(partyId)).map(
        (alert): RiskFlagModel => ({ kind: 'ALERT', level: alert.level, reason: alert.explanation, hit: null, alert }),
      ),
      ...invalid.map(
        (i): RiskFlagModel => ({
          kind: 'INVALID_IDENTIFIER',
          level: 'LOW',
          reason: `${i.type} is invalid (${i.issues.join(', ')})`,
          hit: null,
          alert: null,
        }),
      ),
    ];
  }

  /**
   * One level per customer from its open alerts (their rule points) and open screening hits (points by list,
   * scaled by the match score), with the indicators ranked by contribution, as anti-fraud products show them.
   */
  async assessment(partyId: string): Promise<RiskAssessmentModel> {
    const hits = await executeBound<{ list: string; score: number; matched: string[] }[]>(
      this.em,
      `select e.list, h.score, h.matched from screening_hit h join blacklist_entry e on e.id = h.entry_id
        where h.party_id = ? and h.status = 'OPEN' and e.status = 'ACTIVE'`,
      [partyId],
    );
    const reasons = [
      ...(await this.openAlerts(partyId)).map((a) => ({
        kind: 'ALERT' as const,
        code: a.rule,
        points: a.points,
        explanation: a.explanation,
      })),
      ...hits.map((h) => ({
        kind: 'BLACKLIST_HIT' as const,
        code: h.list,
        points: Math.round((listPoints[h.list] ?? 0) * (h.score >= 0.9 ? 1 : h.score)),
        explanation: `${h.list} list entry matched on ${h.matched.join(', ')} (score ${h.score.toFixed(2)})`,
      })),
    ]
      .filter((r) => r.points > 0)
      .sort((a, b) => b.points - a.points || a.code.localeCompare(b.code));
    const score = reasons.reduce((s, r) => s + r.points, 0);
    return {
      level: levelOf(score),
      score,
      reasons: reasons.map((r) => ({ ...r, share: score === 0 ? 0 : Number((r.points / score).toFixed(3)) })),
    };
  }

  private async openAlerts(partyId: string): Promise<AlertRow[]> {
    const rows = await executeBound<Omit<AlertRow, 'level'>[]>(
      this.em,
      `select ${alertColumns} from alert where party_id = ? and status <> 'CLOSED' order by points desc, rule_code`,
      [partyId],
    );
    return rows.map((r) => ({ ...r, level: levelOf(r.points) }));
  }

  async alerts(args: {
    status?: string | null;
    rule?: string | null;
    minLevel?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<{ cursor: string; node: AlertRow }>> {
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, 'alert', (v): v is [string, string] => Array.isArray(v) && v.length === 2);
    const where = ['true'];
    const params: unknown[] = [];
    if (args.status) where.push('status = ?'), params.push(args.status);
    if (args.rule) where.push('rule_code = ?'), params.push(args.rule);
    if (args.minLevel)
      where.push('points >= ?'), params.push(args.minLevel === 'HIGH' ? 40 : args.minLevel === 'MEDIUM' ? 30 : 0);
    if (after) where.push('(updated_at, id) < (?::timestamptz, ?::uuid)'), params.push(after[0], after[1]);
    const rows = await executeBound<Omit<AlertRow, 'level'>[]>(
      this.em,
      `select ${alertColumns} from alert where ${where.join(' and ')} order by updated_at desc, id desc limit ?`,
      [...params, limit + 1],
    );
    const edges = rows.slice(0, limit).map((r) => ({
      cursor: encodeCursor('alert', [new Date(r.updatedAt).toISOString(), r.id]),
      node: { ...r, level: levelOf(r.points) },
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > limit,
        hasPreviousPage: after !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  async rules(): Promise<AlertRuleRow[]> {
    return executeBound<AlertRuleRow[]>(
      this.em,
      `select code, kind, params, points, enabled, version, updated_by as "updatedBy" from alert_rule order by code`,
    );
  }

  async updateRule(
    code: string,
    change: { params?: Record<string, unknown> | null; points?: number | null; enabled?: boolean | null },
  ): Promise<AlertRuleRow | RuleFailure> {
    let params: unknown = undefined;
    if (change.params != null) {
      params = change.params;
      if (typeof params !== 'object' || params === null || Array.isArray(params))
        return validationFailure('params must be a JSON object');
      const hold = (params as Record<string, unknown>).holdSeconds;
      if (hold !== undefined && !(typeof hold === 'number' && Number.isInteger(hold) && hold >= 0 && hold <= 86_400)) {
        return validationFailure('params.holdSeconds must be a whole number of seconds from 0 to 86400');
      }
    }
    if (change.points != null && (change.points < 0 || change.points > 100))
      return validationFailure('points must be between 0 and 100');
    return this.em.transactional(async (em) => {
      const [rule] = await executeBound<{ params: unknown; points: number; enabled: boolean }[]>(
        em,
        `select params, points, enabled from alert_rule where code = ? for update`,
        [code],
      );
      if (!rule) return notFound(`no alert rule ${code}`);
      await executeBound(
        em,
        `update alert_rule set params = ?::jsonb, points = ?, enabled = ?, version = version + 1, updated_by = ?, updated_at = now() where code = ?`,
        [
          JSON.stringify(params ?? rule.params),
          change.points ?? rule.points,
          change.enabled ?? rule.enabled,
          this.actor,
          code,
        ],
      );
      await executeBound(
        em,
        `insert into alert_rule_version (code, version, params, points, enabled, updated_by, updated_at) select code, version, params, points, enabled, updated_by, updated_at from alert_rule where code = ?`,
        [code],
      );
      const [row] = await executeBound<AlertRuleRow[]>(
        em,
        `select code, kind, params, points, enabled, version, updated_by as "updatedBy" from alert_rule where code = ?`,
        [code],
      );
      return row as AlertRuleRow;
    });
  }

  private async run(fn: (em: EntityManager) => Promise<string | Failure>): Promise<BlacklistEntryRow | Failure> {
    return this.em.transactional(async (em) => {
      const r = await fn(em);
      if (typeof r !== 'string') return r;
      const [row] = await executeBound<BlacklistEntryRow[]>(
        em,
        `select ${entryColumns} from blacklist_entry where id = ?`,
        [r],
      );
      return row as BlacklistEntryRow;
    });
  }

  propose(input: ProposeInput) {
    return this.run((em) => proposeEntry(em, input, this.actor));
  }
  approve(id: string) {
    return this.run((em) => approveEntry(em, id, this.actor));
  }
  reject(id: string, reason: string | null) {
    return this.run((em) => rejectEntry(em, id, this.actor, reason));
  }
  approveBatch(batchId: string) {
    if (!isUuid(batchId)) return Promise.resolve(notFound(`no batch ${batchId}`));
    return this.em.transactional((em) => approveBatch(em, batchId, this.actor));
  }

  deactivate(id: string, reason: string) {
    return this.run((em) => deactivateEntry(em, id, this.actor, reason));
  }
}
