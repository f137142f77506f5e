import { CompiledQuery } from 'kysely';
import type { EntityManager } from '@mikro-orm/postgresql';
import { registerPrepared } from './prepared.ts';
import { noteStatementSize, sqlProfiling } from './query-stats.ts';

/**
 * Runs a statement with `?` placeholders like `em.execute`, in the entity manager's transaction, but with the
 * parameters bound by the driver (PostgreSQL's extended protocol) instead of inlined into the SQL text.
 * MikroORM's `execute` quotes every parameter into one string on the client, and PostgreSQL then lexes all of
 * it; for the ingest's multi-row writes (hundreds of rows of JSON per statement) that was the larger part of a
 * statement's cost: measured on 500-row inserts of JSON, binding was 15–30 % faster end to end, and
 * `bench:ingest`'s hub CPU spent ~3 s per 100k events formatting SQL. Use it for those statements; parameters
 * are sent untyped, so a placeholder whose type PostgreSQL cannot infer from its context needs a cast.
 * The statement is reported to the configured logger, so statement counts and the SQL profile still see it.
 * With `prepared`, the statement goes out as a named prepared statement (src/db/prepared.ts): for fixed texts
 * only, such as the read path's lookups, never for text built from data (e.g. a VALUES list per row).
 */
export async function executeBound<T = Record<string, unknown>[]>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[] = [],
  opts: { prepared?: boolean } = {},
): Promise<T> {
  const text = opts.prepared ? preparedText(sql) : toDollarPlaceholders(sql);
  const ctx = em.getTransactionContext<{ executeQuery(q: CompiledQuery): Promise<{ rows: unknown[] }> }>();
  const runner = ctx ?? em.getConnection().getClient();
  const started = Date.now();
  const res = await runner.executeQuery(CompiledQuery.raw(text, params.map(bindable)));
  em.config.getLogger().logQuery({ query: sql, took: Date.now() - started, level: 'info' });
  if (sqlProfiling) noteStatementSize(sql, params, res.rows);
  return res.rows as T;
}

/** A fixed statement's `$n` text, converted and registered once. */
const preparedTexts = new Map<string, string>();
function preparedText(sql: string): string {
  let text = preparedTexts.get(sql);
  if (text === undefined) {
    text = toDollarPlaceholders(sql);
    registerPrepared(text);
    preparedTexts.set(sql, text);
  }
  return text;
}

/** `undefined` as NULL (as MikroORM does); everything else as the driver converts it. */
const bindable = (v: unknown): unknown => (v === undefined ? null : v);

/** A quoted literal or identifier (to its end, or the text's end if unterminated), or a placeholder. */
const quotedOrPlaceholder = /'[^']*(?:'|$)|"[^"]*(?:"|$)|\?[?|&]?/g;

/**
 * `?` → `$1`, `$2`, … outside quoted literals and identifiers; `??` is not supported (no jsonb `?` operators).
 * One regular-expression pass: the ingest's multi-row statements carry thousands of placeholders, and the
 * character-by-character copy this replaced was ~1 s of hub CPU per 130,000 events in bench:ingest's profile.
 */
export function toDollarPlaceholders(sql: string): string {
  if (!sql.includes('?')) return sql;
  let text = converted.get(sql);
  if (text === undefined) {
    text = convert(sql);
    // Statement texts repeat (the chunks of a batch share a few shapes); those built from data do not, so the
    // memo is emptied when it holds 4 M characters (a few MB) instead of growing with them.
    memoChars += sql.length + text.length;
    if (memoChars > 4_000_000) {
      converted.clear();
      memoChars = sql.length + text.length;
    }
    converted.set(sql, text);
  }
  return text;
}
const converted = new Map<string, string>();
let memoChars = 0;

function convert(sql: string): string {
  let n = 0;
  return sql.replace(quotedOrPlaceholder, (m) => {
    if (m[0] !== '?') return m;
    if (m.length > 1) throw new Error('executeBound: jsonb ? operators are not supported');
    n += 1;
    return `$${n}`;
  });
}
