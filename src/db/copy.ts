import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from './bound-sql.ts';

/**
 * `COPY … FROM STDIN` inside an entity manager's transaction, for the bulk initial load (src/ingest/bulk-load.ts).
 * Kysely (under MikroORM) hands statements to node-postgres but never exposes the pooled client, and COPY needs
 * the client itself (pg-copy-streams). The pool's `connect` hook (orm.ts) therefore remembers every client by its
 * backend process id; `copyRows` asks the transaction's session for `pg_backend_pid()` and streams into that
 * client — the one the transaction holds, so the rows commit or roll back with everything else it wrote.
 */
const clientsByPid = new Map<number, pg.PoolClient>();

/** The pool's hook: remember each client by its backend pid while it is in the pool. */
export function trackPooledClients(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const pid = (client as unknown as { processID: number | null }).processID;
    if (pid !== null) clientsByPid.set(pid, client);
  });
  pool.on('remove', (client) => {
    const pid = (client as unknown as { processID: number | null }).processID;
    if (pid !== null) clientsByPid.delete(pid);
  });
}

const delimiting = /[\\\t\n\r]/;

/** One value in COPY's text format: `\N` for null, backslash escapes for the characters that delimit. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s =
    typeof v === 'string'
      ? v
      : v instanceof Date
        ? v.toISOString()
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  // Most values hold none of the four: testing first spares a replace (and its callback) per value.
  return delimiting.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : s;
}

/**
 * Streams rows into `table (columns)` with COPY in the transaction of `em`; returns the number of rows. Values:
 * strings as they are, objects as JSON (for jsonb columns), dates as ISO strings, null/undefined as NULL.
 */
export async function copyRows(
  em: EntityManager,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly unknown[]>,
): Promise<number> {
  const started = Date.now();
  const [session] = await executeBound<{ pid: number }[]>(em, 'select pg_backend_pid() as pid');
  const client = clientsByPid.get(session?.pid ?? -1);
  if (!client)
    throw new Error('COPY needs a pooled client of the hub (opened with openOrm), not found for this session');
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', () => resolve());
    stream.on('error', reject);
  });
  let count = 0;
  let buffer = '';
  for (const row of rows) {
    for (let c = 0; c < row.length; c += 1) buffer += c === 0 ? field(row[c]) : `\t${field(row[c])}`;
    buffer += '\n';
    count += 1;
    if (buffer.length >= 1 << 16) {
      const more = stream.write(buffer);
      buffer = '';
      if (!more) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    }
  }
  stream.end(buffer);
  await finished;
  em.config.getLogger().logQuery({ query: `copy ${table} (${count} rows)`, took: Date.now() - started, level: 'info' });
  return count;
}
