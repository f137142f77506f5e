import type { Resolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

const typeOf = (obj: object, success: string) =>
  ('__typename' in obj && typeof obj.__typename === 'string' ? obj.__typename : success) as never;

/** Personal-information rights (data stewards): access exports and four-eyes erasure. docs/rights.md. */
export const rightsResolvers: Resolvers = {
  Query: {
    rightsRequests: (_r, { status, customerId }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.rights.list(status ?? null, customerId ?? null);
    },
  },
  Mutation: {
    exportCustomerData: (_r, { customerId, reason }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.rights.exportData(customerId, reason);
    },
    requestErasure: (_r, { customerId, reason }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.rights.requestErasure(customerId, reason);
    },
    approveErasure: (_r, { requestId }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.rights.approveErasure(requestId);
    },
    cancelErasure: (_r, { requestId }, ctx) => {
      requireAccess(ctx, 'steward');
      return ctx.rights.cancelErasure(requestId);
    },
  },
  SubjectAccessResult: { __resolveType: (o) => typeOf(o, 'SubjectAccessExport') },
  RightsRequestResult: { __resolveType: (o) => typeOf(o, 'RightsRequest') },
};
