import { isErrorResult } from '../domain/results.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: string) =>
  ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

export const riskResolvers: Resolvers = {
  Query: {
    blacklistEntries: (_r, args, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.risk.entries(args);
    },
    alerts: (_r, args, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.risk.alerts(args);
    },
    alertRules: (_r, _a, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.risk.rules();
    },
  },
  Mutation: {
    proposeBlacklistEntry: (_r, { input }, ctx) => {
      requireAccess(ctx, 'proposeBlacklist');
      return ctx.risk.propose({
        ...input,
        idNumber: input.idNumber ?? null,
        fullName: input.fullName ?? null,
        birthDate: input.birthDate ?? null,
        phone: input.phone ?? null,
        bankAccount: input.bankAccount ?? null,
        creditCode: input.creditCode ?? null,
        authority: input.authority ?? null,
        effectiveFrom: input.effectiveFrom ?? null,
        effectiveTo: input.effectiveTo ?? null,
      });
    },
    approveBlacklistEntry: (_r, { id }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.risk.approve(id);
    },
    approveBlacklistBatch: async (_r, { batchId }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      const r = await ctx.risk.approveBatch(batchId);
      return (isErrorResult(r) ? r : { __typename: 'BlacklistBatchApproval', ...r }) as never;
    },
    rejectBlacklistEntry: (_r, { id, reason }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.risk.reject(id, reason ?? null);
    },
    deactivateBlacklistEntry: (_r, { id, reason }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.risk.deactivate(id, reason);
    },
    dismissScreeningHit: (_r, { id, reason }, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.riskReview.dismiss(id, reason);
    },
    acknowledgeAlert: (_r, { id }, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.riskReview.acknowledge(id);
    },
    closeAlert: (_r, { id, reason, suppressDays }, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.riskReview.close(id, reason, suppressDays ?? null);
    },
    approveAlertSuppression: (_r, { id }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.riskReview.approveSuppression(id);
    },
    updateAlertRule: (_r, { code, params, points, enabled }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.risk.updateRule(code, { params, points, enabled });
    },
  },
  BlacklistEntryResult: { __resolveType: (o) => typeOf(o, 'BlacklistEntry') },
  ScreeningHitResult: { __resolveType: (o) => typeOf(o, 'ScreeningHit') },
  AlertResult: { __resolveType: (o) => typeOf(o, 'Alert') },
  BlacklistBatchResult: { __resolveType: (o) => typeOf(o, 'BlacklistBatchApproval') },
  AlertRuleResult: { __resolveType: (o) => typeOf(o, 'AlertRule') },
  Alert: { customer: (a, _x, ctx) => ctx.loaders.party.load(a.partyId) },
  BlacklistEntry: { audit: (e, _a, ctx) => ctx.risk.audit(e.id) },
  ScreeningHit: {
    entry: async (h, _a, ctx) => {
      const e = await ctx.risk.entry(h.entryId);
      if (!e) throw new Error(`blacklist entry ${h.entryId} is missing`);
      return e;
    },
  },
  Customer: { riskFlags: (p, _a, ctx) => ctx.risk.flags(p.id) },
};
