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

const isStrings =
  (n: number) =>
  (v: unknown): v is string[] =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string');

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
