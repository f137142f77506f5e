/**
 * Helpers of the set-based statements (sync and risk). A set of customers is handled in slices of at most `size` ids: the
 * statement count stays constant per slice, and a statement's size and planning cost stay bounded (the
 * parameters are inlined into the SQL text by the driver, so there is no bind-parameter limit to hit first).
 */
export const chunked = <T>(items: readonly T[], size = 500): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** `?, ?, ?` (or any other per-value mark, e.g. `(?::uuid, ?)`) for `n` values. */
export const marks = (n: number, mark = '?'): string => Array.from({ length: n }, () => mark).join(', ');

/**
 * Party ids as the database prints them (uuid text is lower case): results are keyed by what PostgreSQL
 * returns, and each customer is handled once even if named twice.
 */
export const uniqueIds = (ids: Iterable<string>): string[] => [...new Set([...ids].map((id) => id.toLowerCase()))];

/** An identifier (table, column, index) quoted for SQL text. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
