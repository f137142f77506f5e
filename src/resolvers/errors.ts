import { GraphQLError } from 'graphql';
import type { ErrorCode } from '../generated/graphql.ts';

/**
 * Every error the hub raises on purpose carries a code from the schema's ErrorCode enum in
 * `extensions.code`; anything else is reported as INTERNAL_SERVER_ERROR without internals (see server/app.ts).
 */
export function hubError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string, field?: string) =>
  hubError('BAD_USER_INPUT', message, field ? { field } : {});
