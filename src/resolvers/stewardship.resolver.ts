import type {
  MutationResolvers,
  QueryResolvers,
  ReviewTaskResolvers,
  CustomerVersionResolvers,
  MatchExplanationResolvers,
} from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: 'ReviewTask' | 'Customer') =>
  ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

export const stewardshipQueries: QueryResolvers = {
  reviewTasks: (_root, { status, first, after }, ctx) => {
    requireAccess(ctx, 'steward');
    return ctx.stewardship.list(status ?? 'OPEN', first, after);
  },
};

export const stewardshipMutations: MutationResolvers = {
  confirmMatch: (_root, { taskId }, ctx) => {
    requireAccess(ctx, 'steward');
    return ctx.stewardship.confirm(taskId);
  },
  rejectMatch: (_root, { taskId, reason }, ctx) => {
    requireAccess(ctx, 'steward');
    return ctx.stewardship.reject(taskId, reason ?? null);
  },
  mergeCustomers: (_root, { survivorId, mergedId, reason }, ctx) => {
    requireAccess(ctx, 'steward');
    return ctx.stewardship.merge(survivorId, mergedId, reason ?? null);
  },
  splitSourceRecord: (_root, { system, sourceId, reason }, ctx) => {
    requireAccess(ctx, 'steward');
    return ctx.stewardship.split(system, sourceId, reason ?? null);
  },
};

export const resultUnions = {
  ReviewDecisionResult: { __resolveType: (obj: object) => typeOf(obj, 'ReviewTask') },
  MergeResult: { __resolveType: (obj: object) => typeOf(obj, 'Customer') },
  SplitResult: { __resolveType: (obj: object) => typeOf(obj, 'Customer') },
  ErrorResult: { __resolveType: (obj: object) => typeOf(obj, 'Customer') },
};

export const ReviewTask: ReviewTaskResolvers = {
  sourceRecord: async (t, _args, ctx) => {
    const record = await ctx.loaders.sourceRecord.load(t.sourceRecordId);
    if (!record) throw new Error(`source record ${t.sourceRecordId} is missing`);
    return record;
  },
  customer: async (t, _args, ctx) => {
    const record = await ctx.loaders.sourceRecord.load(t.sourceRecordId);
    return record?.partyId ? ctx.loaders.party.load(record.partyId) : null;
  },
  candidate: (t, _args, ctx) => ctx.loaders.party.load(t.candidatePartyId),
};

export const CustomerVersion: CustomerVersionResolvers = {
  detail: (h) => JSON.stringify(h.detail),
  at: (h) => h.createdAt,
};

export const MatchExplanation: MatchExplanationResolvers = {
  candidateCustomerId: (e) => e.candidatePartyId,
};
