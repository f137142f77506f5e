import type { ErrorCode } from './errors.ts';

/**
 * Expected failures of mutations are results, not exceptions (the schema's `ErrorResult` types): this module is
 * the one place that builds them, so every service returns the same shapes the GraphQL unions resolve.
 */
type ErrorResultOf<T extends string, C extends ErrorCode> = { __typename: T; errorCode: C; message: string };

export type NotFound = ErrorResultOf<'NotFoundError', 'NOT_FOUND'>;
export type InvalidState = ErrorResultOf<'InvalidStateError', 'INVALID_STATE'>;
export type SelfApproval = ErrorResultOf<'SelfApprovalError', 'SELF_APPROVAL'>;
export type ValidationFailure = ErrorResultOf<'ValidationError', 'BAD_USER_INPUT'>;
export type ErrorResult = NotFound | InvalidState | SelfApproval | ValidationFailure;

export const notFound = (message: string): NotFound => ({
  __typename: 'NotFoundError',
  errorCode: 'NOT_FOUND',
  message,
});
export const invalidState = (message: string): InvalidState => ({
  __typename: 'InvalidStateError',
  errorCode: 'INVALID_STATE',
  message,
});
export const selfApproval = (message: string): SelfApproval => ({
  __typename: 'SelfApprovalError',
  errorCode: 'SELF_APPROVAL',
  message,
});
export const validationFailure = (message: string): ValidationFailure => ({
  __typename: 'ValidationError',
  errorCode: 'BAD_USER_INPUT',
  message,
});

export const isErrorResult = (r: object): r is ErrorResult => 'errorCode' in r;
