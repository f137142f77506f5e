import type {
  PolicyResolvers,
  PolicyCoverResolvers,
  PolicyParticipantResolvers,
  CustomerPolicyEdgeResolvers,
} from '../generated/graphql.ts';
import { policyKey, sourceKey } from '../services/loaders.ts';

export const CustomerPolicyEdge: CustomerPolicyEdgeResolvers = {
  node: (e) => e.policy,
  roles: (e) => e.roles,
};

export const Policy: PolicyResolvers = {
  covers: (p, _args, ctx) => ctx.loaders.coversByPolicy.load(policyKey(p.system, p.policyNo)),
  participants: async (p, { includeHistory }, ctx) => {
    const all = await ctx.loaders.participantsByPolicy.load(policyKey(p.system, p.policyNo));
    return includeHistory ? all : all.filter((r) => r.current);
  },
};

export const PolicyCover: PolicyCoverResolvers = {
  isMainCover: (c) => c.rider === '00',
};

export const PolicyParticipant: PolicyParticipantResolvers = {
  customer: (r, _args, ctx) => ctx.loaders.partyBySource.load(sourceKey(r.system, r.clientSourceId)),
};
