/**
 * Helpers of the set-based statements (sync and risk). A set of customers is handled in slices of at most `size` ids: the
 * statement count stays constant per slice, and a statement's size and planning cost stay bounded (a VALUES list
 * binds one parameter per value, below PostgreSQL's 65,535; `unnestOf` statements bind one per column).
 */
export const chunked = <T>(items: readonly T[], size = 500): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * A multi-row statement's rows as one array parameter per column: `unnest(?::uuid[], ?::text[], …) as v(…)` in place
 * of a VALUES list of rows × columns placeholders. The text is then the same for every chunk, so it goes out as a
 * prepared statement (`executeBound(…, { prepared: true })`: parsed and planned once per connection instead of for
 * every chunk — a tenth to a third of a narrow insert's time on the database, bench:ingest), and the driver binds
 * one parameter per column instead of one per value. `types` are the columns' PostgreSQL types, in row order.
 */
export const unnestOf = (types: readonly string[]): string => `unnest(${types.map((t) => `?::${t}[]`).join(', ')})`;

/** The column arrays of `rows` for `unnestOf` (a missing value is NULL). */
export const byColumn = (rows: readonly (readonly unknown[])[], width: number): unknown[][] =>
  Array.from({ length: width }, (_, c) => rows.map((r) => r[c] ?? null));

/** `?, ?, ?` (or any other per-value mark, e.g. `(?::uuid, ?)`) for `n` values. */
export const marks = (n: number, mark = '?'): string => Array.from({ length: n }, () => mark).join(', ');

/**
 * Party ids as the database prints them (uuid text is lower case): results are keyed by what PostgreSQL
 * returns, and each customer is handled once even if named twice.
 */
export const uniqueIds = (ids: Iterable<string>): string[] => [...new Set([...ids].map((id) => id.toLowerCase()))];

/** An identifier (table, column, index) quoted for SQL text. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
