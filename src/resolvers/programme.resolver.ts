import type { Resolvers } from '../generated/graphql.ts';
import { policyKey, sourceKey } from '../services/loaders.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: string) =>
  ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

/** The customer programme: thin resolvers over src/services/programme.service.ts. */
export const programmeResolvers: Resolvers = {
  Query: {
    customers: (_r, args, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.programme.customers(args);
    },
    followUps: (_r, { first, after, ...filter }, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.care.followUps(filter, first, after);
    },
    complaints: (_r, args, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.care.complaints(args);
    },
    careDates: (_r, args, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.care.careDates(args);
    },
    programmeRules: (_r, _a, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.programme.rules();
    },
    programmeJob: (_r, { id }, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.programme.job(id);
    },
    programmeJobs: (_r, { first }, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.programme.jobs(first);
    },
    agents: (_r, { departedOnly, first }, ctx) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.programme.agents(departedOnly ?? false, first);
    },
  },
  Mutation: {
    updateProgrammeRule: (_r, { code, params, enabled }, ctx) => {
      requireAccess(ctx, 'configureProgramme');
      return ctx.programme.updateRule(code, params, enabled);
    },
    recordAgent: (_r, { code, branch, departedOn }, ctx) => {
      requireAccess(ctx, 'recordAgents');
      return ctx.programme.recordAgent(code, branch, departedOn);
    },
  },
  Customer: {
    value: (p, _a, ctx) => ctx.programme.valueOf(p.id),
    followUps: (p, { first, after, ...filter }, ctx) => ctx.care.followUps(filter, first, after, p.id),
    complaints: async (p, { openOnly }, ctx) =>
      (await ctx.care.complaints({ openOnly }, p.id)).edges.map((e) => e.node),
  },
  CustomerListEdge: {
    node: async (e, _a, ctx) => {
      const party = await ctx.loaders.party.load(e.node.partyId);
      if (!party) throw new Error(`customer ${e.node.partyId} is missing`);
      return party;
    },
    value: (e) => e.node.value,
  },
  FollowUp: {
    policy: (f, _a, ctx) =>
      f.policySystem && f.policyNo ? ctx.loaders.policy.load(policyKey(f.policySystem, f.policyNo)) : null,
    customer: (f, _a, ctx) =>
      f.partySystem && f.partySourceId
        ? ctx.loaders.partyBySource.load(sourceKey(f.partySystem, f.partySourceId))
        : null,
    responsible: (f) => (f.agentDeparted || !f.agentCode ? f.branch : f.agentCode),
    closedByInteraction: (f) => f.closedByKey,
  },
  Complaint: {
    customer: (c, _a, ctx) =>
      c.partySystem && c.partySourceId
        ? ctx.loaders.partyBySource.load(sourceKey(c.partySystem, c.partySourceId))
        : null,
  },
  CareDate: {
    customer: (c, _a, ctx) =>
      c.partyId
        ? ctx.loaders.party.load(c.partyId)
        : c.policySystem && c.holder
          ? ctx.loaders.partyBySource.load(sourceKey(c.policySystem, c.holder))
          : null,
    policy: (c, _a, ctx) =>
      c.policySystem && c.policyNo ? ctx.loaders.policy.load(policyKey(c.policySystem, c.policyNo)) : null,
  },
  ProgrammeJob: {
    progress: (j) => (j.status === 'DONE' ? 1 : j.total ? Math.min(1, j.done / j.total) : 0),
  },
  ProgrammeRuleResult: { __resolveType: (o) => typeOf(o, 'ProgrammeRuleChange') },
  AgentResult: { __resolveType: (o) => typeOf(o, 'Agent') },
};
