import type { QueryResolvers, SourceRecordResolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

export const sourceQueries: QueryResolvers = {
  quarantinedEvents: (_root, { connector, first, after }, ctx) => {
    requireAccess(ctx, 'readQuarantine');
    return ctx.quarantine.list({ connector: connector ?? null, first, after });
  },
};

export const SourceRecord: SourceRecordResolvers = {
  linkType: (r) => r.linkType,
  raw: (r) => (r.raw === null || r.raw === undefined ? null : JSON.stringify(r.raw)),
};
