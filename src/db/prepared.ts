import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Named prepared statements for the read path's fixed statements. Kysely (under MikroORM) sends every statement
 * as `client.query(text, params)`: PostgreSQL parses and plans it anew each time. A statement registered here
 * (`executeBound(…, { prepared: true })`) is sent by name instead; node-postgres prepares it once per pooled
 * connection and later sends only its parameters, and PostgreSQL reuses the parse and, once it has settled on a
 * generic plan, the plan. Only fixed texts may be registered (their number is bounded by the code, not by the
 * data): the registry is process-wide and never shrinks.
 */
const names = new Map<string, string>();

/** Registers a statement text (with `$n` placeholders) and returns its name. */
export function registerPrepared(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `hub_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown;

/** Makes every client of the pool send registered texts as named statements (the pool's `connect` hook). */
export function preparePooledStatements(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query as unknown as QueryFn;
    (client as unknown as { query: QueryFn }).query = function (this: pg.PoolClient, config, values, callback) {
      if (typeof config === 'string' && Array.isArray(values)) {
        const name = names.get(config);
        if (name !== undefined) return query.call(this, { name, text: config, values }, callback);
      }
      return query.call(this, config, values, callback);
    };
  });
}
