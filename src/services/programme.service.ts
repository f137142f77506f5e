import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { marks } from '../db/sql-sets.ts';
import { badInput, isUuid } from '../domain/errors.ts';
import { notFound, validationFailure, type NotFound, type ValidationFailure } from '../domain/results.ts';
import { loadProgrammeConfig, programmeRules, validateRuleParams, type ProgrammeRuleRow } from '../programme/config.ts';
import { jobColumns, queueJob, type ProgrammeJobRow } from '../programme/jobs.ts';
import { newProgrammeWork, queueProgrammeWork } from '../programme/programme-work.ts';
import type { Connection } from './customer.service.ts';
import { marketingAudience } from './marketing-audience.ts';
import { decodeCursor, encodeCursor, pageOf, pageSize } from './pagination.ts';

/**
 * Read side and commands of the customer programme (src/programme derives; this reads): customer value and
 * segment lists, follow-ups, complaints, care dates, the programme's rules, jobs and the agent register.
 */
export type CustomerValueRow = {
  partyId: string;
  annualisedPremium: string;
  totalPremiumPaid: string;
  firstPolicyDate: string | null;
  tenureDays: number | null;
  policiesInForce: number;
  policiesTotal: number;
  claimsCount: number;
  claimsPaid: string;
  lossRatio: number | null;
  orphanedPolicies: number;
  lifecycle: 'PROSPECT' | 'NEW' | 'ACTIVE' | 'LAPSING' | 'LAPSED' | 'CHURNED';
  tier: string;
  segments: string[];
  configVersion: number;
  computedAt: Date;
};

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

export type CustomerListEdgeModel = { cursor: string; node: { partyId: string; value: CustomerValueRow } };

export type AgentRow = {
  code: string;
  branch: string | null;
  departedOn: string | null;
  updatedBy: string;
  updatedAt: Date;
};

const valueColumns = `cv.party_id::text as "partyId", cv.annualised_premium::text as "annualisedPremium", cv.total_premium_paid::text as "totalPremiumPaid",
  to_char(cv.first_policy_date, 'YYYY-MM-DD') as "firstPolicyDate",
  ((now() at time zone 'Asia/Shanghai')::date - cv.first_policy_date) as "tenureDays",
  cv.policies_in_force as "policiesInForce", cv.policies_total as "policiesTotal", cv.claims_count as "claimsCount",
  cv.claims_paid::text as "claimsPaid", cv.loss_ratio::float8 as "lossRatio", cv.orphaned_policies as "orphanedPolicies",
  cv.lifecycle, cv.tier, cv.segments, cv.config_version as "configVersion", cv.computed_at as "computedAt"`;

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

export class ProgrammeService {
  private readonly em: EntityManager;
  private readonly actor: string;
  private readonly values: DataLoader<string, CustomerValueRow | null>;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
    this.values = new DataLoader(async (ids) => {
      const rows = await executeBound<CustomerValueRow[]>(
        em,
        `select ${valueColumns} from customer_value cv where cv.party_id in (${marks(ids.length, '?::uuid')})`,
        [...ids],
      );
      const byId = new Map(rows.map((r) => [r.partyId, r]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  valueOf(partyId: string): Promise<CustomerValueRow | null> {
    return this.values.load(partyId);
  }

  /** Customers of a segment / stage / tier, highest annualised premium first (keyset on premium, id). */
  async customers(args: {
    segment?: string | null;
    lifecycle?: CustomerValueRow['lifecycle'] | null;
    tier?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<CustomerListEdgeModel>> {
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 'customers', isStrings(2));
    const where = [`p.status = 'ACTIVE'`];
    const params: unknown[] = [];
    if (args.segment) {
      const config = await loadProgrammeConfig(this.em);
      const segment = config.segments.find((s) => s.code === args.segment);
      if (!segment) throw badInput(`no enabled segment ${args.segment}`, 'segment');
      where.push(`cv.segments @> array[?]::text[]`);
      params.push(args.segment);
      if (segment.definition.purpose === 'MARKETING') {
        const consent = marketingAudience('cv.party_id');
        if (consent) {
          where.push(consent.sql);
          params.push(...consent.params);
        }
      }
    }
    if (args.lifecycle) {
      where.push('cv.lifecycle = ?');
      params.push(args.lifecycle);
    }
    if (args.tier) {
      where.push('cv.tier = ?');
      params.push(args.tier);
    }
    if (cursor) {
      where.push(
        `(cv.annualised_premium < ?::numeric or (cv.annualised_premium = ?::numeric and cv.party_id > ?::uuid))`,
      );
      params.push(cursor[0], cursor[0], cursor[1]);
    }
    const rows = await executeBound<CustomerValueRow[]>(
      this.em,
      `select ${valueColumns} from customer_value cv join party p on p.id = cv.party_id
        where ${where.join(' and ')} order by cv.annualised_premium desc, cv.party_id limit ?`,
      [...params, limit + 1],
    );
    for (const r of rows) this.values.prime(r.partyId, r);
    return pageOf(
      rows.map((r) => ({ partyId: r.partyId, value: r })),
      limit,
      cursor !== null,
      (n) => encodeCursor('customers', [n.value.annualisedPremium, n.partyId]),
    );
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

  rules(): Promise<ProgrammeRuleRow[]> {
    return programmeRules(this.em);
  }

  /** Changes (or, for a new segment code, defines) a rule, keeps the version, and queues the recompute of everyone. */
  async updateRule(
    code: string,
    params: Record<string, unknown> | null | undefined,
    enabled: boolean | null | undefined,
  ): Promise<{ rule: ProgrammeRuleRow; job: ProgrammeJobRow } | NotFound | ValidationFailure> {
    return this.em.transactional(async (em) => {
      const [rule] = await executeBound<{ kind: ProgrammeRuleRow['kind']; params: unknown; enabled: boolean }[]>(
        em,
        `select kind, params, enabled from programme_rule where code = ? for update`,
        [code],
      );
      const kind = rule?.kind ?? 'SEGMENT';
      if (!rule && params == null) return notFound(`no programme rule ${code}; give params to define a segment`);
      if (!rule && !/^[A-Z][A-Z0-9_]{0,31}$/.test(code))
        return validationFailure('a segment code is 1–32 capital letters, digits and _, starting with a letter');
      if (kind === 'THRESHOLDS' && enabled === false) return validationFailure('the thresholds cannot be disabled');
      const next = params ?? rule?.params;
      const problem = validateRuleParams(kind, next);
      if (problem) return validationFailure(problem);
      if (rule)
        await executeBound(
          em,
          `update programme_rule set params = ?::jsonb, enabled = ?, version = version + 1, updated_by = ?, updated_at = now() where code = ?`,
          [JSON.stringify(next), enabled ?? rule.enabled, this.actor, code],
        );
      else
        await executeBound(
          em,
          `insert into programme_rule (code, kind, params, enabled, updated_by) values (?, 'SEGMENT', ?::jsonb, ?, ?)`,
          [code, JSON.stringify(next), enabled ?? true, this.actor],
        );
      await executeBound(
        em,
        `insert into programme_rule_version (code, version, params, enabled, updated_by, updated_at)
         select code, version, params, enabled, updated_by, updated_at from programme_rule where code = ?`,
        [code],
      );
      const rules = await programmeRules(em);
      const changed = rules.find((r) => r.code === code) as ProgrammeRuleRow;
      const job = await queueJob(em, 'RECOMPUTE', `${code} version ${changed.version} by ${this.actor}`, this.actor);
      return { rule: changed, job };
    });
  }

  async job(id: string): Promise<ProgrammeJobRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await executeBound<ProgrammeJobRow[]>(
      this.em,
      `select ${jobColumns} from programme_job where id = ?::uuid`,
      [id],
    );
    return row ?? null;
  }

  jobs(first: number | null | undefined): Promise<ProgrammeJobRow[]> {
    return executeBound<ProgrammeJobRow[]>(
      this.em,
      `select ${jobColumns} from programme_job order by created_at desc, id limit ?`,
      [pageSize(first)],
    );
  }

  agents(departedOnly: boolean, first: number | null | undefined): Promise<AgentRow[]> {
    return executeBound<AgentRow[]>(
      this.em,
      `select code, branch, to_char(departed_on, 'YYYY-MM-DD') as "departedOn", updated_by as "updatedBy", updated_at as "updatedAt"
         from agent ${departedOnly ? 'where departed_on is not null' : ''} order by code limit ?`,
      [pageSize(first, 500)],
    );
  }

  /** Records an agent's branch and departure; a departure queues the orphaned-policy derivation of their policies. */
  async recordAgent(
    code: string,
    branch: string | null | undefined,
    departedOn: string | null | undefined,
  ): Promise<AgentRow | ValidationFailure> {
    const agent = code.trim();
    if (agent === '' || agent.length > 32) return validationFailure('the agent code is 1–32 characters');
    return this.em.transactional(async (em) => {
      const [row] = await executeBound<AgentRow[]>(
        em,
        `insert into agent (code, branch, departed_on, updated_by) values (?, ?, ?::date, ?)
         on conflict (code) do update set branch = coalesce(excluded.branch, agent.branch), departed_on = excluded.departed_on,
           updated_by = excluded.updated_by, updated_at = now()
         returning code, branch, to_char(departed_on, 'YYYY-MM-DD') as "departedOn", updated_by as "updatedBy", updated_at as "updatedAt"`,
        [agent, branch?.trim() || null, departedOn ?? null, this.actor],
      );
      // The agent's policies: orphaned-policy follow-ups, branch on their tasks, and their holders' values.
      const work = newProgrammeWork();
      work.agents.add(agent);
      await queueProgrammeWork(em, work);
      return row as AgentRow;
    });
  }
}
