import { mayDo, type Operation } from '../auth/access-policy.ts';
import { forbidden } from '../domain/errors.ts';
import type { GraphQLContext } from './context.ts';

/** Operation-level authorisation, decided by src/auth/access-policy.ts. */
export function requireAccess(ctx: GraphQLContext, operation: Operation): void {
  if (!mayDo(ctx.viewer, operation))
    throw forbidden(`your roles (${ctx.viewer.roles.join(', ')}) may not ${operation}`);
}
