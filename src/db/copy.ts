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
/** Bytes handed to the COPY stream at a time. */
const chunkBytes = 1 << 18;

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
  // A stream that fails while this waits for room (the connection lost) may never drain: the wait ends with the
  // failure then, and the error is the one reported (awaited below). A row the server rejects is reported at the
  // end: PostgreSQL reads on to the end of the data after the error.
  finished.catch(() => {});
  const room = () => Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), finished]);
  // Each line is encoded straight into a chunk of bytes: building one long string per chunk and encoding it
  // afterwards cost ~60 % more (the string is a rope of every value, flattened before it is encoded).
  let count = 0;
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  for (const row of rows) {
    let line = field(row[0]);
    for (let c = 1; c < row.length; c += 1) line += `\t${field(row[c])}`;
    line += '\n';
    count += 1;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a line that may not fit goes out after what is there.
    if (used + line.length * 3 > chunk.length) {
      if (used > 0 && !stream.write(chunk.subarray(0, used))) await room();
      chunk = Buffer.allocUnsafe(Math.max(chunkBytes, line.length * 3));
      used = 0;
    }
    used += chunk.write(line, used);
  }
  stream.end(chunk.subarray(0, used));
  await finished;
  em.config.getLogger().logQuery({ query: `copy ${table} (${count} rows)`, took: Date.now() - started, level: 'info' });
  return count;
}
