import { badInput, isUuid } from '../domain/errors.ts';
import type { QueryResolvers } from '../generated/graphql.ts';
import { requireAccess } from './guard.ts';

/** The access audit, for the compliance role. */
export const auditQueries: Pick<QueryResolvers, 'accessAudit'> = {
  accessAudit: (_root, { customerId, subject, first, after }, ctx) => {
    requireAccess(ctx, 'readAudit');
    if (customerId && !isUuid(customerId)) throw badInput('customerId is not a customer id', 'customerId');
    return ctx.audit.list({ customerId, subject, first, after });
  },
};
