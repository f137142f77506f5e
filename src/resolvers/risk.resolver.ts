import type { Resolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: string) => ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

export const riskResolvers: Resolvers = {
  Query: {
    blacklistEntries: (_r, args, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.risk.entries(args);
    },
  },
  Mutation: {
    proposeBlacklistEntry: (_r, { input }, ctx) => {
      requireAccess(ctx, 'proposeBlacklist');
      return ctx.risk.propose({ ...input, idNumber: input.idNumber ?? null, fullName: input.fullName ?? null, birthDate: input.birthDate ?? null, phone: input.phone ?? null, bankAccount: input.bankAccount ?? null, creditCode: input.creditCode ?? null, authority: input.authority ?? null, effectiveFrom: input.effectiveFrom ?? null, effectiveTo: input.effectiveTo ?? null });
    },
    approveBlacklistEntry: (_r, { id }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.risk.approve(id);
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
      return ctx.risk.dismiss(id, reason);
    },
  },
  BlacklistEntryResult: { __resolveType: (o) => typeOf(o, 'BlacklistEntry') },
  ScreeningHitResult: { __resolveType: (o) => typeOf(o, 'ScreeningHit') },
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
