/**
 * The hub's error codes — the same list as the GraphQL schema's `ErrorCode` enum (a type check in
 * src/resolvers/errors.ts keeps the two equal) — and the error services throw. Services know nothing of
 * GraphQL: they throw a `DomainError` for a request that cannot be served (bad input, forbidden) and return
 * result unions (src/domain/results.ts) for expected outcomes of mutations; the API maps codes to GraphQL
 * errors in one place.
 */
export const errorCodes = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'INVALID_STATE',
  'SELF_APPROVAL',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
  'TIMEOUT',
  'UNTRUSTED_DOCUMENT',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code: ErrorCode;
  /** The argument or input field at fault, when there is one (e.g. `query.phone`). */
  readonly field: string | undefined;
  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

export const badInput = (message: string, field?: string): DomainError =>
  new DomainError('BAD_USER_INPUT', message, field);
export const forbidden = (message: string): DomainError => new DomainError('FORBIDDEN', message);

/** One UUID pattern for every id the API accepts: anything else is reported as not found, never sent to SQL. */
export const isUuid = (s: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
