import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { connectors } from '../src/connectors/registry.ts';
import { generateTraffic } from '../src/demo/generate-traffic.ts';
import { ingestBatch } from '../src/ingest/batch-source.ts';
import { bulkLoad } from '../src/ingest/bulk-load.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { migrate, openOrm } from '../src/db/orm.ts';
import { ingestDepsFor } from '../src/runtime/hub.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';

/**
 * `npm run bench:load [-- --clients N --streaming]`: the bulk initial load (src/ingest/bulk-load.ts) of a
 * generated insurer's traffic (every source topic; ~13 messages per core-policy client) into an empty store,
 * side by side in one run with a raw COPY of the same messages into a plain table (what an operator would do
 * instead: dump the snapshot into PostgreSQL) — records/s of both and the ratio (target ≥ 0.5) — and, with
 * `--streaming`, the same messages through the streaming apply step (batches of 500) for comparison.
 * Each on a fresh database of the PostgreSQL at TEST_DATABASE_URL (default 127.0.0.1:5432).
 * `--rounds N` (default 3): the three measurements (raw COPY of the messages, the bulk load, the raw COPY of the
 * rows it wrote) repeated N times in turn, each round's ratios printed and their medians taken as the result — on
 * this shared machine the same raw COPY of the load's rows took 5.5–10.4 s from run to run, so one pair decides
 * nothing.
 */
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20000' },
    streaming: { type: 'boolean', default: false },
    programme: { type: 'boolean', default: true },
    rounds: { type: 'string', default: '3' },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const clients = Number(values.clients);
const t0 = performance.now();
const traffic = generateTraffic({ seed: 7, clients, policies: Math.round(clients * 1.3) });
process.stdout.write(
  `generated ${traffic.length} messages for ${clients} core-policy clients in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
);

async function rawCopy(): Promise<number> {
  const db = await createTestDatabase('bench_load_copy');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('create table raw_record (id bigserial primary key, topic text not null, key text, value jsonb)');
    const started = performance.now();
    await c.query('begin');
    const stream = c.query(copyFrom('copy raw_record (topic, key, value) from stdin'));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', () => resolve());
      stream.on('error', reject);
    });
    const esc = (s: string | null) =>
      s === null
        ? '\\N'
        : s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'));
    let buf = '';
    for (const m of traffic) {
      buf += `${esc(m.topic)}\t${esc(m.key)}\t${esc(m.value)}\n`;
      if (buf.length > 1 << 16) {
        if (!stream.write(buf)) await new Promise<void>((r) => stream.once('drain', () => r()));
        buf = '';
      }
    }
    stream.end(buf);
    await done;
    await c.query('commit');
    return (performance.now() - started) / 1000;
  } finally {
    await c.end();
    await db.drop();
  }
}

/** Every table the load wrote, as COPY text, parents before children (foreign keys), to re-load raw. */
async function dumpTables(url: string): Promise<{ table: string; rows: number; text: string }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = (
      await c.query<{ relname: string; n: string }>(
        `select relname, n_live_tup::text as n from pg_stat_user_tables where schemaname = 'public' and relname <> 'mikro_orm_migrations'`,
      )
    ).rows.map((r) => r.relname);
    const deps = (
      await c.query<{ child: string; parent: string }>(
        `select conrelid::regclass::text as child, confrelid::regclass::text as parent from pg_constraint where contype = 'f'`,
      )
    ).rows;
    const ordered: string[] = [];
    const visit = (t: string, path: Set<string>) => {
      if (ordered.includes(t) || path.has(t)) return;
      path.add(t);
      for (const d of deps) if (d.child === t && d.parent !== t) visit(d.parent, path);
      ordered.push(t);
    };
    for (const t of tables.sort()) visit(t, new Set());
    const out: { table: string; rows: number; text: string }[] = [];
    for (const table of ordered) {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from ${table}`);
      if ((rows[0]?.n ?? 0) === 0) continue;
      const chunks: Buffer[] = [];
      const stream = c.query(copyTo(`copy ${table} to stdout`));
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      out.push({ table, rows: rows[0]?.n ?? 0, text: Buffer.concat(chunks).toString() });
    }
    return out;
  } finally {
    await c.end();
  }
}

/** The same rows the load wrote, COPYed into a fresh store with the same schema (indexes, keys): the write floor. */
async function rawCopyOfRows(dump: { table: string; rows: number; text: string }[]): Promise<number> {
  const db = await createTestDatabase('bench_load_rows');
  const orm = await openOrm(db.url, { poolMax: 1 });
  await migrate(orm);
  await orm.close(true);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    // The migrations seed some tables (alert rules, programme rules): the dump brings those rows itself.
    await c.query(`truncate table ${dump.map((t) => t.table).join(', ')} cascade`);
    const started = performance.now();
    await c.query('begin');
    for (const t of dump) {
      const stream = c.query(copyFrom(`copy ${t.table} from stdin`));
      await new Promise<void>((resolve, reject) => {
        stream.on('finish', () => resolve());
        stream.on('error', reject);
        stream.end(t.text);
      });
    }
    await c.query('commit');
    return (performance.now() - started) / 1000;
  } finally {
    await c.end();
    await db.drop();
  }
}

let dumped: { table: string; rows: number; text: string }[] = [];

async function hubLoad(kind: 'bulk' | 'streaming') {
  const db = await createTestDatabase(`bench_load_${kind}`);
  const orm = await openOrm(db.url, { poolMax: 2 });
  try {
    await migrate(orm);
    const router = new TopicRouter(connectors);
    const deps = ingestDepsFor('', kind === 'bulk' ? 'queue' : 'settle', values.programme);
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    if (kind === 'bulk') {
      const r = await bulkLoad(orm, router, 'bench', traffic, deps);
      const seconds = (performance.now() - started) / 1000;
      dumped = await dumpTables(db.url);
      return { seconds, detail: r, rssGrowth: process.memoryUsage().rss - rss };
    }
    const r = await ingestBatch(orm, router, 'bench', traffic, {
      ...deps,
      followUp: ingestDepsFor('', 'queue').followUp,
    });
    return { seconds: (performance.now() - started) / 1000, detail: r, rssGrowth: process.memoryUsage().rss - rss };
  } finally {
    await orm.close(true);
    await db.drop();
  }
}

type Round = { copySeconds: number; bulkSeconds: number; rowsSeconds: number };
const measured: Round[] = [];
let last: Awaited<ReturnType<typeof hubLoad>> | null = null;
for (let round = 1; round <= rounds; round += 1) {
  const copySeconds = await rawCopy();
  const bulk = await hubLoad('bulk');
  const rowsSeconds = await rawCopyOfRows(dumped);
  measured.push({ copySeconds, bulkSeconds: bulk.seconds, rowsSeconds });
  last = bulk;
  process.stdout.write(
    `round ${round}: raw COPY of the messages ${copySeconds.toFixed(2)} s, bulk load ${bulk.seconds.toFixed(2)} s, raw COPY of its rows ${rowsSeconds.toFixed(2)} s; ratios ${(copySeconds / bulk.seconds).toFixed(3)} (messages), ${(rowsSeconds / bulk.seconds).toFixed(3)} (rows)\n`,
  );
}
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const bulk = last as NonNullable<typeof last>;
const copySeconds = median(measured.map((m) => m.copySeconds));
const bulkSeconds = median(measured.map((m) => m.bulkSeconds));
const rowsSeconds = median(measured.map((m) => m.rowsSeconds));
const messagesRatio = median(measured.map((m) => m.copySeconds / m.bulkSeconds));
const rowsRatio = median(measured.map((m) => m.rowsSeconds / m.bulkSeconds));
const rowCount = dumped.reduce((n, t) => n + t.rows, 0);
const d = bulk.detail as Awaited<ReturnType<typeof bulkLoad>>;
const of = rounds > 1 ? ` (median of ${rounds} rounds)` : '';
process.stdout.write(
  `raw COPY of the ${traffic.length} messages${of}: ${copySeconds.toFixed(2)} s, ${Math.round(traffic.length / copySeconds)} records/s\n` +
    `bulk load${of}: ${bulkSeconds.toFixed(2)} s, ${Math.round(traffic.length / bulkSeconds)} messages/s → ${d.records} source records in ${d.parties} golden records, ${d.facts} facts (largest component ${d.largestComponent} records, ${d.reviews} review tasks); RSS growth ${Math.round(bulk.rssGrowth / 2 ** 20)} MiB\n` +
    `  phases (last round): ${Object.entries(d.phases)
      .map(([k, s]) => `${k} ${s.toFixed(2)} s`)
      .join(', ')}\n` +
    `  of which this process's CPU: ${Object.entries(d.processCpu)
      .map(([k, s]) => `${k} ${s.toFixed(2)} s`)
      .join(', ')}\n` +
    `  rows written: ${Object.entries(d.rows)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}\n` +
    `ratio bulk / raw COPY of the messages${of}: ${messagesRatio.toFixed(3)} (target ≥ 0.5)\n` +
    `raw COPY of the same ${rowCount} rows the load wrote (${dumped.map((t) => `${t.table} ${t.rows}`).join(', ')}) into a fresh store with the same schema${of}: ${rowsSeconds.toFixed(2)} s; ratio bulk / raw COPY of its rows${of}: ${rowsRatio.toFixed(3)} (target ≥ 0.5)\n`,
);
if (values.streaming) {
  const streamed = await hubLoad('streaming');
  process.stdout.write(
    `streaming apply step (batches of 500, follow-up queued): ${streamed.seconds.toFixed(2)} s, ${Math.round(traffic.length / streamed.seconds)} messages/s; bulk / streaming ${(streamed.seconds / bulkSeconds).toFixed(2)}×\n`,
  );
}
