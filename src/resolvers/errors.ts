import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../config/logger.ts';
import { DomainError, type ErrorCode } from '../domain/errors.ts';
import type { ErrorCode as SchemaErrorCode } from '../generated/graphql.ts';

/** The domain's error codes and the schema's `ErrorCode` enum are the same list (fails to compile otherwise). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const codesMatchSchema: Same<ErrorCode, SchemaErrorCode> = true;
void codesMatchSchema;

/**
 * The one mapping of domain errors to GraphQL errors: every code is handled (the switch is exhaustive), with
 * the HTTP status the GraphQL-over-HTTP spec expects where the whole request fails.
 */
export function toGraphQLError(e: DomainError): GraphQLError {
  const extensions = (code: ErrorCode, extra: Record<string, unknown> = {}) => ({
    code,
    ...(e.field ? { field: e.field } : {}),
    ...extra,
  });
  switch (e.code) {
    case 'UNAUTHENTICATED':
      return new GraphQLError(e.message, { extensions: extensions(e.code, { http: { status: 401 } }) });
    case 'FORBIDDEN':
    case 'BAD_USER_INPUT':
    case 'NOT_FOUND':
    case 'INVALID_STATE':
    case 'SELF_APPROVAL':
    case 'QUERY_TOO_COMPLEX':
    case 'TIMEOUT':
    case 'UNTRUSTED_DOCUMENT':
      return new GraphQLError(e.message, { extensions: extensions(e.code) });
    case 'RATE_LIMITED':
      return new GraphQLError(e.message, { extensions: extensions(e.code, { retryAfterSeconds: 60 }) });
    case 'INTERNAL_SERVER_ERROR':
      return new GraphQLError('Internal server error', { extensions: extensions(e.code) });
    default: {
      const unhandled: never = e.code;
      throw new Error(`unmapped error code ${String(unhandled)}`);
    }
  }
}

/** Codes Apollo Server itself raises for requests it refuses; they pass through (parse/validation as BAD_USER_INPUT). */
const apolloCodes = new Set([
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
const passThrough = new Set<string>(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND']);

/** Errors the hub raised on purpose pass through with their code; anything else is logged and hidden. */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
  development = false,
): GraphQLFormattedError {
  const shown = development ? formatted : withoutSuggestions(formatted);
  return formatErrorShown(shown, error, logger);
}

/**
 * In production, validation messages do not suggest field names ("Did you mean …?"): they would let a caller
 * without introspection read the schema one typo at a time.
 */
function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const message = formatted.message.replace(/ ?Did you mean .*\?$/, '');
  return message === formatted.message ? formatted : { ...formatted, message };
}

function formatErrorShown(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  // A limit refused the document (src/resolvers/limits.ts): validation errors, or the parser's token limit.
  const limit = formatted.extensions?.limit;
  if (formatted.extensions?.hubCode === 'QUERY_TOO_COMPLEX' && typeof limit === 'string')
    return {
      message: formatted.message,
      locations: formatted.locations,
      extensions: { code: 'QUERY_TOO_COMPLEX', limit },
    };
  if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && /contains more th\w+ \d+ tokens/.test(formatted.message))
    return { message: formatted.message, extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'tokens' } };
  // PostgreSQL cancelled a statement past the request's statement_timeout (SQLSTATE 57014).
  if ((original as { code?: unknown } | null)?.code === '57014')
    return { message: 'a statement ran past its timeout', path: formatted.path, extensions: { code: 'TIMEOUT' } };
  if (original instanceof DomainError) {
    const mapped = toGraphQLError(original).toJSON();
    return { ...mapped, locations: formatted.locations, path: formatted.path };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && (passThrough.has(code) || apolloCodes.has(code))) {
    return code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED'
      ? { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT', reason: code } }
      : formatted;
  }
  logger.error('unexpected error in GraphQL request', { error: original, path: formatted.path });
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
