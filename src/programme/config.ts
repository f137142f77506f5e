import { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';

/**
 * The customer programme's configuration, stored as versioned rules (`programme_rule`, every change kept in
 * `programme_rule_version`, like the alert rules): one THRESHOLDS rule — lifecycle and tier thresholds, the
 * follow-up due days — and one SEGMENT rule per segment, a list of conditions on the value metrics that must all
 * hold. Data stewards and risk admins change them through GraphQL (`updateProgrammeRule`); a change recomputes
 * every customer as a background job (src/programme/jobs.ts).
 */
export const lifecycles = ['PROSPECT', 'NEW', 'ACTIVE', 'LAPSING', 'LAPSED', 'CHURNED'] as const;
export type Lifecycle = (typeof lifecycles)[number];

const days = z.number().int().min(0).max(3650);
export const thresholdsSchema = z
  .object({
    /** A customer whose first policy began at most this many days ago is NEW. */
    newCustomerDays: days,
    /** An in-force policy paid to more than this many days ago makes its holder LAPSING (in the grace period). */
    lapsingOverdueDays: days,
    /** A lapse older than this (by its paid-to date) no longer counts: without policies in force the customer is CHURNED. */
    churnAfterLapseDays: days,
    /** Tiers, highest first: the first whose minimum the customer reaches is theirs. */
    tiers: z
      .array(
        z
          .object({
            code: z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/),
            minAnnualisedPremium: z.number().min(0).optional(),
            minTotalPremiumPaid: z.number().min(0).optional(),
          })
          .strict(),
      )
      .max(20),
    defaultTier: z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/),
    /** New-business follow-up due within the cooling-off period (犹豫期) after the policy's issue. */
    coolingOffDays: days,
    lapseFollowUpDays: days,
    benefitFollowUpDays: days,
    orphanFollowUpDays: days,
    /** Events older than this (a history loaded later) derive no new-business, lapse or benefit follow-up. */
    followUpMaxAgeDays: days,
    /** An open complaint older than this is overdue. */
    complaintDueDays: days,
  })
  .strict();
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const metrics = [
  'annualisedPremium',
  'totalPremiumPaid',
  'tenureDays',
  'policiesInForce',
  'claimsCount',
  'claimsPaid',
  'lossRatio',
  'orphanedPolicies',
  'lifecycle',
  'tier',
] as const;
export type Metric = (typeof metrics)[number];

const condition = z
  .object({
    metric: z.enum(metrics),
    op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in']),
    value: z.union([z.number(), z.string(), z.array(z.union([z.string(), z.number()])).max(50)]),
  })
  .strict();
export const segmentSchema = z
  .object({
    /**
     * SERVICE segments drive service levels; MARKETING segments are campaign audiences, and their lists go through
     * the consent hook (src/services/marketing-audience.ts).
     */
    purpose: z.enum(['SERVICE', 'MARKETING']),
    when: z.array(condition).min(1).max(20),
  })
  .strict();
export type SegmentDefinition = z.infer<typeof segmentSchema>;
export type Condition = z.infer<typeof condition>;

export type ProgrammeConfig = {
  /** Changes with every rule change (the sum of the rules' versions): stored with each derived value. */
  version: number;
  thresholds: Thresholds;
  segments: { code: string; definition: SegmentDefinition }[];
};

export type ProgrammeRuleRow = {
  code: string;
  kind: 'THRESHOLDS' | 'SEGMENT';
  params: Record<string, unknown>;
  enabled: boolean;
  version: number;
  updatedBy: string;
  updatedAt: Date;
};

/** Checks a rule's parameters; the message names what is wrong. */
export function validateRuleParams(kind: ProgrammeRuleRow['kind'], params: unknown): string | null {
  const r = (kind === 'THRESHOLDS' ? thresholdsSchema : segmentSchema).safeParse(params);
  if (r.success) return null;
  return r.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
}

export async function programmeRules(em: EntityManager): Promise<ProgrammeRuleRow[]> {
  return executeBound<ProgrammeRuleRow[]>(
    em,
    `select code, kind, params, enabled, version, updated_by as "updatedBy", updated_at as "updatedAt" from programme_rule order by kind desc, code`,
  );
}

/** The configuration in force: the thresholds and the enabled segments (one statement). */
export async function loadProgrammeConfig(em: EntityManager): Promise<ProgrammeConfig> {
  const rows = await programmeRules(em);
  const t = rows.find((r) => r.kind === 'THRESHOLDS');
  if (!t) throw new Error('programme_rule THRESHOLDS is missing');
  return {
    version: rows.reduce((sum, r) => sum + r.version, 0),
    thresholds: thresholdsSchema.parse(t.params),
    segments: rows
      .filter((r) => r.kind === 'SEGMENT' && r.enabled)
      .map((r) => ({ code: r.code, definition: segmentSchema.parse(r.params) })),
  };
}
