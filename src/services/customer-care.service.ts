import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { badInput } from '../domain/errors.ts';
import { loadProgrammeConfig } from '../programme/config.ts';
import type { Connection } from './customer.service.ts';
import { decodeCursor, encodeCursor, pageOf, pageSize } from './pagination.ts';

/**
 * The customer programme's lists for contact-centre and service-manager apps: follow-ups due (derived by
 * src/programme/follow-ups.ts), complaints with age and reopen count, and customer-care dates.
 */
export type FollowUpRow = {
  id: string;
  type: 'NEW_BUSINESS' | 'LAPSE' | 'BENEFIT_PAYMENT' | 'ORPHANED_POLICY';
  status: 'OPEN' | 'DONE' | 'CANCELLED';
  overdue: boolean;
  dueDate: string;
  openedAt: Date;
  policySystem: string | null;
  policyNo: string | null;
  partySystem: string | null;
  partySourceId: string | null;
  agentCode: string | null;
  branch: string | null;
  agentDeparted: boolean;
  attempts: number;
  lastAttemptAt: Date | null;
  closedAt: Date | null;
  outcome: string | null;
  closedBySystem: string | null;
  closedByKey: string | null;
};

export type ComplaintRow = {
  system: string;
  interactionId: string;
  status: string;
  category: string | null;
  openedAt: Date | null;
  ageDays: number;
  overdue: boolean;
  reopenCount: number;
  policyNo: string | null;
  summary: string | null;
  partySystem: string | null;
  partySourceId: string | null;
  callerPhoneKey: string | null;
};

export type CareDateRow = {
  kind: 'BIRTHDAY' | 'POLICY_ANNIVERSARY';
  date: string;
  partyId: string | null;
  policySystem: string | null;
  policyNo: string | null;
  holder: string | null;
  years: number | null;
};

const followUpColumns = `f.id::text as id, f.type, f.status, (f.status = 'OPEN' and f.due_date < (now() at time zone 'Asia/Shanghai')::date) as overdue,
  to_char(f.due_date, 'YYYY-MM-DD') as "dueDate", f.opened_at as "openedAt", f.policy_system as "policySystem", f.policy_no as "policyNo",
  f.party_system as "partySystem", f.party_source_id as "partySourceId", f.agent_code as "agentCode", f.branch,
  coalesce((select ag.departed_on <= (now() at time zone 'Asia/Shanghai')::date from agent ag where ag.code = f.agent_code), false) as "agentDeparted",
  f.attempts, f.last_attempt_at as "lastAttemptAt", f.closed_at as "closedAt", coalesce(f.outcome, f.cancel_reason) as outcome,
  f.closed_by_system as "closedBySystem", f.closed_by_key as "closedByKey"`;

const today = `(now() at time zone 'Asia/Shanghai')::date`;
const openComplaint = `coalesce(a.status, 'OPEN') in ('OPEN', 'IN_PROGRESS', 'REOPENED')`;

const isStrings =
  (n: number) =>
  (v: unknown): v is string[] =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string');

export type FollowUpFilter = {
  status?: 'OPEN' | 'OVERDUE' | 'DONE' | 'CANCELLED' | null;
  type?: FollowUpRow['type'] | null;
  dueBefore?: string | null;
  branch?: string | null;
};

export class CustomerCareService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** Follow-ups, earliest due first (keyset on due date, id); for one customer when `partyId` is given. */
  async followUps(
    filter: FollowUpFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    partyId?: string,
  ): Promise<Connection<{ cursor: string; node: FollowUpRow }> & { totalCount: number }> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, 'follow-up', isStrings(2));
    const where: string[] = [];
    const params: unknown[] = [];
    if (partyId) {
      where.push(
        `(f.party_system, f.party_source_id) in (select system, source_id from source_record where party_id = ?::uuid and not deleted)`,
      );
      params.push(partyId);
    }
    if (filter.status === 'OVERDUE') where.push(`f.status = 'OPEN' and f.due_date < ${today}`);
    else if (filter.status) {
      where.push('f.status = ?');
      params.push(filter.status);
    }
    if (filter.type) {
      where.push('f.type = ?');
      params.push(filter.type);
    }
    if (filter.dueBefore) {
      where.push('f.due_date < ?::date');
      params.push(filter.dueBefore);
    }
    if (filter.branch) {
      where.push('f.branch = ?');
      params.push(filter.branch);
    }
    const counted = where.length > 0 ? `where ${where.join(' and ')}` : '';
    if (cursor) {
      where.push('(f.due_date, f.id) > (?::date, ?::uuid)');
      params.push(cursor[0], cursor[1]);
    }
    const rows = await executeBound<FollowUpRow[]>(
      this.em,
      `select ${followUpColumns} from follow_up f ${where.length > 0 ? `where ${where.join(' and ')}` : ''} order by f.due_date, f.id limit ?`,
      [...params, limit + 1],
    );
    const [total] = await executeBound<{ n: number }[]>(
      this.em,
      `select count(*)::int as n from follow_up f ${counted}`,
      params.slice(0, params.length - (cursor ? 2 : 0)),
    );
    const page = pageOf(rows, limit, cursor !== null, (r) => encodeCursor('follow-up', [r.dueDate, r.id]));
    return { ...page, totalCount: total?.n ?? 0 };
  }

  /** Complaints, oldest first (keyset on first seen, interaction); for one customer when `partyId` is given. */
  async complaints(
    args: { openOnly?: boolean | null; overdueOnly?: boolean | null; first?: number | null; after?: string | null },
    partyId?: string,
  ): Promise<Connection<{ cursor: string; node: ComplaintRow }>> {
    const limit = partyId ? 100 : pageSize(args.first);
    const cursor = decodeCursor(args.after, 'complaint', isStrings(3));
    const dueDays = (await loadProgrammeConfig(this.em)).thresholds.complaintDueDays;
    const where = [`a.kind = 'INTERACTION'`, `a.type = 'COMPLAINT'`, 'not a.deleted'];
    const params: unknown[] = [];
    if (args.openOnly !== false || args.overdueOnly) where.push(openComplaint);
    if (partyId) {
      where.push(`((a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = ?::uuid and not deleted)
        or a.caller_phone_key in (select search_key from contact_point where party_id = ?::uuid and search_key is not null))`);
      params.push(partyId, partyId);
    }
    const outer: string[] = [];
    if (args.overdueOnly) outer.push(`c."ageDays" > ?`);
    const outerParams: unknown[] = args.overdueOnly ? [dueDays] : [];
    if (cursor) {
      outer.push(`(c."openedAt", c.system, c."interactionId") > (?::timestamptz, ?, ?)`);
      outerParams.push(cursor[0], cursor[1], cursor[2]);
    }
    const rows = await executeBound<ComplaintRow[]>(
      this.em,
      `select c.*, (c.open and c."ageDays" > ?) as overdue from (
         select a.system, a.source_key as "interactionId", coalesce(a.status, 'OPEN') as status, a.data->>'complaintCategory' as category,
                coalesce(e.first_at, a.occurred_at) as "openedAt",
                coalesce(floor(extract(epoch from now() - coalesce(e.first_at, a.occurred_at)) / 86400), 0)::int as "ageDays",
                coalesce(e.reopens, 0)::int as "reopenCount", a.policy_no as "policyNo", a.data->>'summary' as summary,
                a.party_system as "partySystem", a.party_source_id as "partySourceId", a.caller_phone_key as "callerPhoneKey",
                ${openComplaint} as open
           from activity a left join lateral (
             select min(e.at) as first_at, count(*) filter (where e.status = 'REOPENED') as reopens
               from complaint_status_event e where e.system = a.system and e.source_key = a.source_key) e on true
          where ${where.join(' and ')}) c
       ${outer.length > 0 ? `where ${outer.join(' and ')}` : ''}
       order by c."openedAt", c.system, c."interactionId" limit ?`,
      [dueDays, ...params, ...outerParams, limit + 1],
    );
    return pageOf(rows, limit, cursor !== null, (r) =>
      encodeCursor('complaint', [new Date(r.openedAt ?? 0).toISOString(), r.system, r.interactionId]),
    );
  }

  /** Birthdays and policy anniversaries of the next `days` days, soonest first. */
  async careDates(args: {
    days?: number | null;
    kinds?: readonly CareDateRow['kind'][] | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<{ cursor: string; node: CareDateRow }>> {
    const days = args.days ?? 7;
    if (!Number.isInteger(days) || days < 1 || days > 366) throw badInput('"days" must be between 1 and 366', 'days');
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 'care-date', isStrings(3));
    const kinds = args.kinds?.length ? args.kinds : ['BIRTHDAY', 'POLICY_ANNIVERSARY'];
    const md = (col: string) => `((extract(month from ${col}) * 100 + extract(day from ${col}))::int)`;
    const parts: string[] = [];
    if (kinds.includes('BIRTHDAY'))
      parts.push(`select 'BIRTHDAY' as kind, d.day, p.id::text as "partyId", null::text as "policySystem", null::text as "policyNo",
          null::text as holder, null::int as years, p.id::text as k
        from d join party p on ${md('p.birth_date')} = d.md and p.status = 'ACTIVE' and p.birth_date is not null`);
    if (kinds.includes('POLICY_ANNIVERSARY'))
      parts.push(`select 'POLICY_ANNIVERSARY', d.day, null, pol.system, pol.policy_no,
          (select min(pr.client_source_id) from policy_role pr where pr.system = pol.system and pr.policy_no = pol.policy_no
             and pr.role = 'POLICYHOLDER' and pr.current and not pr.deleted),
          (extract(year from d.day) - extract(year from pol.commencement_date))::int, pol.system || '/' || pol.policy_no
        from d join policy pol on ${md('pol.commencement_date')} = d.md and not pol.deleted and pol.commencement_date is not null
          and pol.commencement_date < d.day and pol.status in ('IF', 'RI')`);
    const rows = await executeBound<(CareDateRow & { k: string })[]>(
      this.em,
      `with d as (select g::date as day, ${md('g::date')} as md from generate_series(${today}, ${today} + ?::int - 1, interval '1 day') g)
       select to_char(c.day, 'YYYY-MM-DD') as date, c.* from (${parts.join(' union all ')}) c
       ${cursor ? 'where (c.day, c.kind, c.k) > (?::date, ?, ?)' : ''} order by c.day, c.kind, c.k limit ?`,
      [days, ...(cursor ?? []), limit + 1],
    );
    return pageOf(rows, limit, cursor !== null, (r) => encodeCursor('care-date', [r.date, r.kind, r.k]));
  }
}
