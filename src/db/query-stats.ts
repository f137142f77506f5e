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
    if (this.printQueries && context.query) this.writer(`[query] ${context.query} (${context.took ?? '?'} ms)`);
  }
  setDebugMode(): void {}
  isEnabled(namespace: LoggerNamespace): boolean {
    return namespace === 'query' || namespace === 'slow-query';
  }
}
