import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogContext, Logger, LoggerNamespace, LoggerOptions } from '@mikro-orm/core';

/**
 * Counts the SQL statements issued inside a scope (one GraphQL request, one ingest batch). The count is
 * returned to callers as a response header, which makes N+1 regressions visible in tests and in production.
 */
export type QueryStats = { statements: number };
const scope = new AsyncLocalStorage<QueryStats>();

export function withQueryStats<T>(stats: QueryStats, fn: () => T): T {
  return scope.run(stats, fn);
}

/**
 * Opt-in statement profile (HUB_SQL_PROFILE=1): total time and count per statement shape (the text up to its
 * first VALUES list or 120 characters), for finding where an ingest batch's database time goes. Benchmarks
 * print it with `sqlProfileReport`.
 */
type ShapeStats = { n: number; ms: number; sent: number; rows: number; received: number };
const profile = process.env.HUB_SQL_PROFILE === '1' ? new Map<string, ShapeStats>() : null;
const emptyShape = (): ShapeStats => ({ n: 0, ms: 0, sent: 0, rows: 0, received: 0 });

/** Whether the statement profile is on (callers measure sizes only then). */
export const sqlProfiling = profile !== null;

/**
 * Adds a bound statement's parameter characters and its result's rows and characters (as JSON) to its shape in the
 * profile: what crosses the wire, which the driver pays for on both ends.
 */
export function noteStatementSize(sql: string, params: readonly unknown[], rows: readonly unknown[]): void {
  if (!profile) return;
  const shape = shapeOf(sql);
  const entry = profile.get(shape) ?? emptyShape();
  for (const p of params) entry.sent += p === null || p === undefined ? 0 : String(p).length;
  entry.rows += rows.length;
  entry.received += rows.length > 0 ? JSON.stringify(rows).length : 0;
  profile.set(shape, entry);
}

function shapeOf(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ');
  const cut = flat.search(/values \(/i);
  return (cut > 0 ? flat.slice(0, Math.min(cut, 160)) : flat.slice(0, 160)).trim();
}

/** Starts the profile afresh (bench:ingest reports each of its phases on its own). */
export function resetSqlProfile(): void {
  profile?.clear();
}

export function sqlProfileReport(top = 25): string | null {
  if (!profile) return null;
  const rows = [...profile].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  const total = [...profile.values()].reduce((s, v) => s + v.ms, 0);
  return [
    `SQL time ${(total / 1000).toFixed(1)} s over ${[...profile.values()].reduce((s, v) => s + v.n, 0)} statements`,
    `   time   count   sent kB   rows   recv kB  statement (sizes for statements bound by executeBound only)`,
    ...rows.map(
      ([shape, v]) =>
        `${(v.ms / 1000).toFixed(2).padStart(7)} s ${String(v.n).padStart(7)}× ${(v.sent / 1000).toFixed(0).padStart(8)} ${String(v.rows).padStart(7)} ${(v.received / 1000).toFixed(0).padStart(8)}  ${shape}`,
    ),
  ].join('\n');
}

/** MikroORM logger that feeds the statement counter and forwards query text only when SQL debugging is on. */
export class CountingLogger implements Logger {
  private readonly writer: (message: string) => void;
  private readonly printQueries: boolean;

  constructor(options: LoggerOptions, printQueries: boolean) {
    this.writer = options.writer;
    this.printQueries = printQueries;
  }

  log(namespace: string, message: string): void {
    if (namespace === 'query' && !this.printQueries) return;
    if (namespace === 'info' || namespace === 'discovery') return;
    this.writer(`[${namespace}] ${message}`);
  }
  error(namespace: string, message: string): void {
    this.writer(`[${namespace}] error: ${message}`);
  }
  warn(namespace: string, message: string): void {
    this.writer(`[${namespace}] warning: ${message}`);
  }
  logQuery(context: LogContext): void {
    const stats = scope.getStore();
    if (stats) stats.statements += 1;
    if (profile && context.query) {
      const shape = shapeOf(context.query);
      const entry = profile.get(shape) ?? emptyShape();
      entry.n += 1;
      entry.ms += context.took ?? 0;
      profile.set(shape, entry);
    }
    if (this.printQueries && context.query) this.writer(`[query] ${context.query} (${context.took ?? '?'} ms)`);
  }
  setDebugMode(): void {}
  isEnabled(namespace: LoggerNamespace): boolean {
    return namespace === 'query' || namespace === 'slow-query';
  }
}
