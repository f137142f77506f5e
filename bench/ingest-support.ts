import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { DemoMessage } from '../src/demo/generate-core-policy.ts';

/**
 * Measuring helpers of bench/ingest.bench.ts: CPU of the database sessions, and rows and index entries written,
 * from PostgreSQL's cumulative statistics.
 */

/**
 * CPU seconds (user + system) of the database's server processes serving one database, from /proc (the bench runs
 * on the database's machine; 0 where /proc cannot be read). Sessions come and go (the pool closes idle ones), so
 * the meter samples every session's CPU twice a second and keeps the last figure of those that ended: `read()` is
 * the CPU of every session seen so far, short of what an ended one used after its last sample.
 */
export function databaseCpuMeter(pool: pg.Pool): {
  read(): Promise<number>;
  /** The same CPU by the sessions' `application_name` (hub, hub-workers, hub-read; the bench's own sessions have none). */
  byApplication(): Map<string, number>;
  stop(): void;
} {
  const last = new Map<number, { app: string; seconds: number }>();
  const sample = async () => {
    const { rows } = await pool.query<{ pid: number; app: string }>(
      `select pid, application_name as app from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
    );
    for (const { pid, app } of rows) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        last.set(pid, { app: app || '(bench)', seconds: (Number(fields[11]) + Number(fields[12])) / 100 }); // USER_HZ on Linux
      } catch {
        // the session ended, or /proc is not ours to read
      }
    }
  };
  const timer = setInterval(() => void sample().catch(() => {}), 500);
  return {
    async read() {
      await sample();
      return [...last.values()].reduce((s, v) => s + v.seconds, 0);
    },
    byApplication() {
      const by = new Map<string, number>();
      for (const { app, seconds } of last.values()) by.set(app, (by.get(app) ?? 0) + seconds);
      return by;
    },
    stop: () => clearInterval(timer),
  };
}

/** Per table: rows inserted, updated (of which HOT), deleted, and the index entries those writes added. */
export type TableWrites = { inserted: number; updated: number; hot: number; deleted: number; indexEntries: number };
export type WriteSnapshot = Map<string, TableWrites>;

/**
 * PostgreSQL's cumulative counters of rows written per table (pg_stat_user_tables), with the index entries they
 * imply: every inserted row and every update that is not HOT adds one entry to each index of its table whose
 * predicate the row satisfies. Rows a partial index leaves out are estimated from the share of the table's rows that
 * satisfy its predicate at the time of the snapshot; a GIN index counts as one entry per row (it writes one per
 * trigram). Sessions report their counters at most once a second and, once idle, after up to 10 s: `settleMs`
 * waits that out before reading.
 */
export async function writeSnapshot(pool: pg.Pool, settleMs = 11_000): Promise<WriteSnapshot> {
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const { rows: tables } = await pool.query<{
    relname: string;
    ins: string;
    upd: string;
    hot: string;
    del: string;
  }>(
    `select relname, n_tup_ins::text as ins, n_tup_upd::text as upd, n_tup_hot_upd::text as hot, n_tup_del::text as del from pg_stat_user_tables`,
  );
  const { rows: indexes } = await pool.query<{ relname: string; predicate: string | null }>(
    `select c.relname, pg_get_expr(i.indpred, i.indrelid) as predicate
       from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  const out: WriteSnapshot = new Map();
  for (const t of tables) {
    const inserted = Number(t.ins);
    const updated = Number(t.upd);
    const hot = Number(t.hot);
    const written = inserted + updated - hot;
    let indexEntries = 0;
    for (const ix of indexes.filter((i) => i.relname === t.relname)) {
      if (ix.predicate === null || written === 0) {
        indexEntries += written;
        continue;
      }
      const {
        rows: [share],
      } = await pool.query<{ share: number | null }>(
        `select (count(*) filter (where ${ix.predicate}))::float8 / nullif(count(*), 0) as share from "${t.relname}"`,
      );
      indexEntries += written * (share?.share ?? 1);
    }
    out.set(t.relname, { inserted, updated, hot, deleted: Number(t.del), indexEntries });
  }
  return out;
}

/** What was written between two snapshots, per event: total and the tables that wrote most. */
export function writesPerEvent(before: WriteSnapshot, after: WriteSnapshot, events: number, top = 10): string {
  const diff = [...after].map(([table, a]) => {
    const b = before.get(table) ?? { inserted: 0, updated: 0, hot: 0, deleted: 0, indexEntries: 0 };
    return {
      table,
      inserted: a.inserted - b.inserted,
      updated: a.updated - b.updated,
      hot: a.hot - b.hot,
      deleted: a.deleted - b.deleted,
      indexEntries: a.indexEntries - b.indexEntries,
    };
  });
  const rows = (d: (typeof diff)[number]) => d.inserted + d.updated + d.deleted;
  const sum = (f: (d: (typeof diff)[number]) => number) => diff.reduce((s, d) => s + f(d), 0);
  const per = (n: number) => (n / events).toFixed(2);
  const tables = diff
    .filter((d) => rows(d) > 0)
    .sort((a, b) => b.indexEntries + rows(b) - (a.indexEntries + rows(a)))
    .slice(0, top)
    .map(
      (d) =>
        `${d.table} ${per(rows(d))}/${per(d.indexEntries)} (ins ${d.inserted}, upd ${d.updated}${d.updated > 0 ? ` hot ${d.hot}` : ''}${d.deleted > 0 ? `, del ${d.deleted}` : ''})`,
    );
  return `${per(sum(rows))} rows and ${per(sum((d) => d.indexEntries))} index entries per event (${per(sum((d) => d.inserted))} inserted, ${per(sum((d) => d.updated))} updated of which ${per(sum((d) => d.hot))} HOT, ${per(sum((d) => d.deleted))} deleted); rows/index entries per event by table: ${tables.join(', ')}`;
}

/** Round-robin over topics in proportion to their sizes, keeping each topic's own order. */
export function interleave(messages: readonly DemoMessage[]): DemoMessage[] {
  const byTopic = new Map<string, DemoMessage[]>();
  for (const m of messages) {
    const list = byTopic.get(m.topic);
    if (list) list.push(m);
    else byTopic.set(m.topic, [m]);
  }
  const lists = [...byTopic.values()];
  const out: DemoMessage[] = [];
  const taken = lists.map(() => 0);
  for (let step = 1; out.length < messages.length; step += 1) {
    const progress = step / messages.length;
    lists.forEach((list, i) => {
      while ((taken[i] ?? 0) < list.length && (taken[i] ?? 0) < Math.ceil(progress * list.length))
        out.push(list[(taken[i] = (taken[i] ?? 0) + 1) - 1] as DemoMessage);
    });
  }
  return out;
}

/** The baseline: the same messages upserted into one table (topic, key → jsonb), 500 rows per statement, one connection. */
export async function rawUpsert(url: string, messages: readonly DemoMessage[]): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `create table raw_event (topic text not null, key text not null, value jsonb, primary key (topic, key))`,
    );
    const started = performance.now();
    for (let i = 0; i < messages.length; i += 500) {
      // One statement may not touch a row twice: the last message of a key in the chunk wins, as in a log.
      const chunk = new Map<string, DemoMessage>();
      messages.slice(i, i + 500).forEach((m, j) => chunk.set(`${m.topic}\u0000${m.key ?? `#${i + j}`}`, m));
      const rows = [...chunk.entries()];
      await c.query(
        `insert into raw_event (topic, key, value) values ${rows.map((_, k) => `($${k * 3 + 1}, $${k * 3 + 2}, $${k * 3 + 3}::jsonb)`).join(', ')}
         on conflict (topic, key) do update set value = excluded.value`,
        rows.flatMap(([k, m]) => [m.topic, k.split('\u0000')[1], m.value]),
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    await c.end();
  }
}

/**
 * What the database's sessions are doing, sampled every 20 ms from pg_stat_activity while the hub catches up: on
 * average how many sessions run a statement (on CPU or I/O), wait on a lock, or sit idle inside a transaction —
 * waiting for the hub to send the next statement, i.e. the transaction's time spent in the hub's process. The
 * statements waited on or after come with it (their first words): where a serial ingest transaction's wall time goes.
 */
export function sessionSampler(url: string): { stop(): Promise<string[]> } {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const byState = new Map<string, number>();
  const byStatement = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await pool.query<{ state: string; wait: string | null; query: string }>(
        `select state, wait_event_type || '/' || wait_event as wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 48) as query
           from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state in ('active', 'idle in transaction')`,
      );
      samples += 1;
      for (const r of rows) {
        const [kind, state] =
          r.state === 'idle in transaction'
            ? ['after', 'idle in transaction (waiting for the hub)']
            : r.wait?.startsWith('Lock/')
              ? ['lock', `waiting on a lock (${r.wait})`]
              : ['running', 'running a statement'];
        byState.set(state, (byState.get(state) ?? 0) + 1);
        const key = `${kind}  ${r.query}`;
        byStatement.set(key, (byStatement.get(key) ?? 0) + 1);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pool.end();
      const avg = (n: number) => (n / Math.max(1, samples)).toFixed(2);
      return [
        `database sessions during the catch-up (${samples} samples; average number of sessions):`,
        ...[...byState].sort((a, b) => b[1] - a[1]).map(([state, n]) => `  ${avg(n).padStart(5)}  ${state}`),
        '  by statement (running it, idle in transaction after it, or waiting on a lock in it):',
        ...[...byStatement]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 16)
          .map(([k, n]) => `  ${avg(n).padStart(5)}  ${k}`),
      ];
    },
  };
}
