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
type QueryCallback = (err: Error | null, result?: unknown) => void;

/**
 * Every pooled client of the pool (its `connect` hook), for all statements:
 *   - registered texts go out as named statements (above);
 *   - a call without a callback — how Kysely, under MikroORM and the read pool, sends every statement — is sent in
 *     node-postgres's callback form and answered through a promise of our own. node-postgres's own promise form
 *     (`client.query(text, values)` returning a promise, pg 8.23 on Node 24) left each statement's objects — the
 *     result's rows and field descriptions, the query, and through the awaiting code the GraphQL request that
 *     issued it — reachable for the young-generation collector until the next full collection, so they were
 *     promoted to the old generation. Measured on a bare HTTP server sending two statements per request through
 *     Kysely at an even 200 requests/s: 215 kB promoted per MB allocated with the promise form, 0.4 kB with the
 *     callback form (node-postgres's `pool.query` and callback `client.query`: 0.4 kB as well); the hub's serving
 *     process promoted 37 kB per MB, and the major collections that promotion brings were the name search's tail
 *     at a million customers (docs/operations.md, Scale). Why V8 keeps them is not known; the callback form does not.
 * Calls that pass their own callback, or a submittable (COPY streams, cursors), are left as they are.
 */
export function preparePooledStatements(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query as unknown as QueryFn;
    (client as unknown as { query: QueryFn }).query = function (this: pg.PoolClient, config, values, callback) {
      let statement = config;
      let params = values;
      if (typeof config === 'string' && Array.isArray(values)) {
        const name = names.get(config);
        if (name !== undefined) {
          statement = { name, text: config, values };
          params = undefined;
        }
      }
      const own = config as { submit?: unknown; callback?: unknown } | null;
      // A submittable (COPY stream, cursor) or a config carrying its own callback is node-postgres's to answer.
      const answered = typeof own?.submit === 'function' || typeof own?.callback === 'function';
      if (callback !== undefined || typeof values === 'function' || answered)
        return query.call(this, statement, params, callback);
      return new Promise((resolve, reject) => {
        const done: QueryCallback = (err, result) => (err ? reject(err) : resolve(result));
        query.call(this, statement, params, done);
      });
    };
  });
}
