import type { CanonicalChange } from '../../domain/canonical.ts';
import type { MappingErrorCode } from './errors.ts';

/**
 * What every connector ships for the shared conformance suite (tests/conformance): valid source messages with
 * the canonical changes they must produce (matched as a subset, so fixtures state what matters), and invalid
 * messages with the error code they must be rejected with. The suite also applies the valid fixtures to a real
 * database twice (idempotent re-read) and again from stored positions (resume).
 */
export type FixtureMessage = { topic: string; key: string | null; value: string | null };
type DeepPartial<T> = T extends Date ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export type ConformanceFixtures = {
  valid: { name: string; message: FixtureMessage; expected: DeepPartial<CanonicalChange>[] }[];
  invalid: { name: string; message: FixtureMessage; code: MappingErrorCode }[];
};
