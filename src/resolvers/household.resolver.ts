import type { Resolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: string) =>
  ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

/** Households and relationships (customer 360, steward corrections), network exclusions and risk assessments. */
export const householdResolvers: Resolvers = {
  Query: {
    networkExclusions: (_r, args, ctx) => {
      requireAccess(ctx, 'readRisk');
      return ctx.exclusions.list(args);
    },
  },
  Mutation: {
    moveHouseholdMember: (_r, { customerId, householdId, reason }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.households.move(customerId, householdId ?? null, reason);
    },
    splitHousehold: (_r, { householdId, customerIds, reason }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.households.split(householdId, customerIds, reason);
    },
    proposeNetworkExclusion: (_r, { contact, value, reason }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.exclusions.propose(contact, value, reason);
    },
    approveNetworkExclusion: (_r, { id }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.exclusions.approve(id);
    },
    rejectNetworkExclusion: (_r, { id, reason }, ctx) => {
      requireAccess(ctx, 'approveBlacklist');
      return ctx.exclusions.reject(id, reason ?? null);
    },
  },
  HouseholdResult: { __resolveType: (o) => typeOf(o, 'Household') },
  NetworkExclusionResult: { __resolveType: (o) => typeOf(o, 'NetworkExclusion') },
  Customer: {
    household: (p, _a, ctx) => ctx.households.householdOf(p.id),
    relationships: (p, args, ctx) => ctx.households.relationships(p.id, args),
    riskAssessment: (p, _a, ctx) => ctx.risk.assessment(p.id),
  },
  Household: {
    members: (h, _a, ctx) => ctx.households.members(h),
    history: (h, _a, ctx) => ctx.households.history(h.id),
  },
  HouseholdMember: {
    customer: async (m, _a, ctx) => {
      const p = await ctx.loaders.party.load(m.partyId);
      if (!p) throw new Error(`customer ${m.partyId} is missing`);
      return p;
    },
  },
  Relationship: {
    customer: async (r, _a, ctx) => {
      const p = await ctx.loaders.party.load(r.partyId);
      if (!p) throw new Error(`customer ${r.partyId} is missing`);
      return p;
    },
  },
};
