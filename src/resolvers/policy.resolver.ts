import type {
  PolicyResolvers,
  PolicyCoverResolvers,
  PolicyParticipantResolvers,
  CustomerPolicyEdgeResolvers,
} from '../generated/graphql.ts';
import { mapMaybe, policyKey, sourceKey } from '../services/loaders.ts';

export const CustomerPolicyEdge: CustomerPolicyEdgeResolvers = {
  node: (e) => e.policy,
  roles: (e) => e.roles,
};

export const Policy: PolicyResolvers = {
  covers: (p, _args, ctx) => ctx.loaders.coversByPolicy.get(policyKey(p.system, p.policyNo)),
  participants: (p, { includeHistory }, ctx) =>
    mapMaybe(ctx.loaders.participantsByPolicy.get(policyKey(p.system, p.policyNo)), (all) =>
      includeHistory ? all : all.filter((r) => r.current),
    ),
};

export const PolicyCover: PolicyCoverResolvers = {
  isMainCover: (c) => c.rider === '00',
};

export const PolicyParticipant: PolicyParticipantResolvers = {
  customer: (r, _args, ctx) => ctx.loaders.partyBySource.load(sourceKey(r.system, r.clientSourceId)),
};
