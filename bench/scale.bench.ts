import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createTestDatabase, type TestDatabase } from '../tests/support/postgres.ts';
import { migrate, openOrm } from '../src/db/orm.ts';
import { connectors } from '../src/connectors/registry.ts';
import { ingestBatch } from '../src/ingest/batch-source.ts';
import type { IngestDeps } from '../src/ingest/apply-batch.ts';
import { bulkLoad } from '../src/ingest/bulk-load.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../src/runtime/hub.ts';
import { rescanAll } from '../src/risk/rescan.ts';
import { warmRelations } from '../src/db/warm.ts';
import { servingTables } from '../src/services/serving-tables.ts';
import { type PopulationChunk, populationChunks } from '../src/demo/generate-population.ts';
import { cpu, cpuSpent, paced, type Target } from './graphql-load.ts';
import { scaleDocuments, storageReport, summaryTable, type Row } from './scale-report.ts';
import { hubNodeFlags } from '../tests/support/hub-node-flags.ts';

/**
 * The hub at scale (issue 16 part 5): a store of `--customers` people (default 1,000,000; about 2.6 source records
 * each, with their policies, covers and roles and the other systems' payments, claims, leads, bank
 * sales, app events and calls) generated as the connectors' real messages (src/demo/generate-population.ts,
 * streamed in chunks) and loaded through the bulk initial-load path (`--loader bulk`, src/ingest/bulk-load.ts)
 * or the streaming batch path (`--loader batch`, ingestBatch: the connectors, identity resolution, survivorship;
 * risk and programme follow-ups left out — the rescan below does risk). Then, on that store:
 *   - load time and rate, database size per active golden customer, per-table sizes and row counts;
 *   - the hub's HTTP server (bench/graphql-server.ts: startHub with a CHANNEL_APP token, as the call centre's app
 *     calls it, under the node flags of `npm run hub`; programme worker and scheduled resolution pass off — the
 *     store is at rest) at a fixed rate
 *     (`--rate`/s, an even open-loop pace, latency from when each request was due) for `--seconds` each:
 *     searchCustomers by phone, by id number and by name, and the customer 360 by id, keys drawn at random from
 *     the store; p50/p99 and CPU per request of the server and of PostgreSQL;
 *     `--reads cold|warm|both` (default both): right after the load, and after `hub warm` (pg_prewarm of the
 *     serving tables, src/db/warm.ts — what an operator runs after a bulk load), each pass on keys of its own;
 *     on a reused store the reads wait until the hub's risk worker has settled any due risk work;
 *   - a full risk rescan (`hub risk rescan`'s rescanAll): relationships and households, screening, alert rules.
 * Targets at 1,000,000 customers: search p99 < 10 ms, the 360 p99 < 20 ms.
 *   npm run bench:scale [-- --customers 1000000 --loader bulk|batch --rate 200 --seconds 15 --warmup 3
 *                          --keep-db --skip-rescan --reads both]
 * A kept database is reused with BENCH_DB_URL=… (or --database URL): the load is skipped, so the reads and the
 * rescan can be measured again without reloading; with --resume (batch loader) an interrupted load continues from
 * the positions it stored (applied transactions are skipped), and its time is then that of the rest only.
 */
const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '1000000' },
    loader: { type: 'string', default: 'bulk' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    samples: { type: 'string', default: '10000' },
    chunk: { type: 'string', default: '5000' },
    database: { type: 'string' },
    'keep-db': { type: 'boolean', default: false },
    'skip-rescan': { type: 'boolean', default: false },
    reads: { type: 'string', default: 'both' },
    resume: { type: 'boolean', default: false },
  },
});
if (args.loader !== 'bulk' && args.loader !== 'batch') throw new Error('--loader is bulk or batch');
if (!['cold', 'warm', 'both'].includes(String(args.reads))) throw new Error('--reads is cold, warm or both');
const customers = Number(args.customers);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const root = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const load1 = () => loadavg()[0]?.toFixed(2);
log(`machine: ${cpus().length} cores, load average ${load1()} at start (shared with other sessions)`);

const reuse = args.database ?? process.env.BENCH_DB_URL;
let lockRetries = 0;
let generatingMs = 0;
let db: TestDatabase | null = null;
const url = reuse ?? (db = await createTestDatabase('hub_bench_scale')).url;
const rows: Row[] = [];
try {
  const orm = await openOrm(url, { poolMax: 4 });
  try {
    await migrate(orm);
    const present = await count(url, `select count(*) from party`);
    if (present > 0 && !args.resume)
      log(`reusing ${url}: ${present.toLocaleString('en')} parties already loaded; load skipped`);
    else rows.push(...(await loadPopulation(orm)));
  } finally {
    await orm.close(true);
  }
  // Steady state, as autovacuum leaves tables after a large load: statistics and the visibility map up to date.
  // Also on a reused database (an interrupted load never got here; stale statistics gave the 360 a plan that read
  // every policy role, 1.5 s instead of 30 ms at 11,000 customers).
  const tv = performance.now();
  await withClient(url, (client) => client.query('vacuum analyze'));
  log(`vacuum analyze: ${((performance.now() - tv) / 1000).toFixed(1)} s`);
  const storage = await storageReport(url);
  for (const line of storage.lines) log(line);
  rows.push(...storage.rows);

  const samples = await pickSamples(url, Number(args.samples));
  log(
    `samples (random, fixed seed): ${samples.ids.length} customer ids, ${samples.phones.length} mobiles, ` +
      `${samples.idNumbers.length} resident ids, ${samples.names.length} names`,
  );
  const server = await startServer(url);
  try {
    // A reused store may hold risk work that is due (a rescan's held findings whose holds have ended): the served
    // process settles it, and reads measured meanwhile measure that instead of the store at rest.
    await untilRiskSettled(url);
    const passes: ('cold' | 'warm')[] = args.reads === 'both' ? ['cold', 'warm'] : [args.reads as 'cold' | 'warm'];
    for (const pass of passes) {
      if (pass === 'warm') {
        // What an operator does after a bulk load or a server restart (`hub warm`, docs/operations.md).
        const orm = await openOrm(url, { poolMax: 1 });
        try {
          const w = await warmRelations(orm.em.fork(), servingTables);
          log(
            `hub warm: ${w.warmed.length} relations, ${w.mb.toFixed(0)} MB of a ${w.budgetMb} MB budget, in ${w.seconds.toFixed(1)} s${w.skipped.length ? `; over the budget: ${w.skipped.map((x) => `${x.relation} (${x.mb.toFixed(0)} MB)`).join(', ')}` : ''}`,
          );
          rows.push({
            what: 'hub warm',
            value: `${w.seconds.toFixed(1)} s for ${w.mb.toFixed(0)} MB`,
            target: '',
            ok: null,
          });
        } finally {
          await orm.close(true);
        }
      }
      log(
        pass === 'cold'
          ? 'reads, cold: right after the load (the OS cache holds what the load wrote last)'
          : 'reads, warm: after hub warm',
      );
      await readPass(server, samples, pass, rows);
    }
  } finally {
    await server.stop();
  }

  if (!args['skip-rescan']) {
    const orm = await openOrm(url, { poolMax: 2 });
    try {
      log(`risk rescan of every active customer (${elapsed()}) …`);
      let shown = 0;
      const r = await rescanAll(orm, '', (phase, done, total) => {
        if (done - shown >= 100_000 || done === total) {
          shown = done === total ? 0 : done;
          log(`  ${phase}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (${elapsed()})`);
        }
      });
      const total = r.relationsSeconds + r.riskSeconds;
      log(
        `risk rescan: ${r.customers.toLocaleString('en')} customers in ${total.toFixed(1)} s (relationships and households ${r.relationsSeconds.toFixed(1)} s, screening and alert rules ${r.riskSeconds.toFixed(1)} s: ${r.screened.toLocaleString('en')} screened, ${r.evaluated.toLocaleString('en')} evaluated by the alert rules — the others could change nothing), ${r.alerts} alerts opened, updated or closed`,
      );
      rows.push({ what: 'risk rescan', value: `${total.toFixed(1)} s`, target: '', ok: null });
      rows.push({
        what: 'risk rescan rate',
        value: `${(r.customers / total).toFixed(0)} customers/s`,
        target: '',
        ok: null,
      });
    } finally {
      await orm.close(true);
    }
  }
  log('');
  for (const line of summaryTable(rows, {
    customers,
    loader: reuse && !args.resume ? 'reused store' : `${args.loader} loader`,
    rate,
    seconds,
  }))
    log(line);
  log(`load average ${load1()} at the end; total ${elapsed()}`);
} finally {
  if (db && !args['keep-db']) await db.drop();
  else log(`kept database: BENCH_DB_URL=${url}`);
}

// ---------------------------------------------------------------------------------------------------------------

/** Loads the generated population with the chosen loader; the rows of the summary about it. */
async function loadPopulation(orm: MikroORM): Promise<Row[]> {
  const router = new TopicRouter(connectors);
  // Risk and the programme are not settled during the load (the rescan below does risk, as docs/operations.md
  // advises after an initial load); everything the reads touch is written by the real connectors and sync.
  const deps: IngestDeps = { ...ingestDepsFor(), followUp: { phase: 'none', run: async () => {} } };
  let messages = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (args.loader === 'bulk') {
    const stream = (function* () {
      for (const chunk of generated()) {
        messages += chunk.messages.length;
        yield* chunk.messages;
      }
    })();
    const r = await bulkLoad(orm, router, 'bench-scale', stream, deps);
    log(
      `bulk load: ${r.records} records, ${r.parties} parties, ${r.facts} facts in ${r.seconds.toFixed(1)} s (as it reports); phases: ${Object.entries(
        r.phases,
      )
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(
          ', ',
        )}; largest component ${r.largestComponent}; resident memory (MB) at the end of each phase: ${Object.entries(
        r.memory,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )} — ${(((r.memory.peak ?? 0) * 2 ** 20) / Math.max(1, r.records)).toFixed(0)} bytes per source record at the peak`,
    );
  } else {
    let last = t0;
    for (const [k, chunk] of enumerate(generated())) {
      // Positions are per stream and topic: each chunk is a stream of its own (loading it again is a no-op, which
      // also makes a retry resume where the failed transaction left off).
      const r = await retried(() => ingestBatch(orm, router, `bench-scale-${k}`, chunk.messages, deps));
      messages += chunk.messages.length;
      if (r.quarantined > 0) log(`  chunk ${k}: ${r.quarantined} messages quarantined`);
      if (performance.now() - last > 30_000 || chunk.people >= customers) {
        last = performance.now();
        const s = (last - t0) / 1000;
        log(
          `  ${chunk.people.toLocaleString('en')} people, ${messages.toLocaleString('en')} messages, ${s.toFixed(0)} s (${(messages / s).toFixed(0)} messages/s, load ${load1()})`,
        );
      }
    }
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  log(`  of which generating the messages (in this process, chunk by chunk): ${(generatingMs / 1000).toFixed(1)} s`);
  if (lockRetries > 0) log(`  ${lockRetries} chunk(s) retried after running out of lock-table space`);
  const c = process.cpuUsage(cpu0);
  const records = await count(url, 'select count(*) from source_record');
  log(
    `load (${args.loader}): ${messages.toLocaleString('en')} messages, ${records.toLocaleString('en')} source records in ${loadSeconds.toFixed(1)} s — ` +
      `${(messages / loadSeconds).toFixed(0)} messages/s, ${(records / loadSeconds).toFixed(0)} source records/s; ` +
      `bench process CPU ${((c.user + c.system) / 1e6).toFixed(0)} s`,
  );
  return [
    {
      what: `load (${args.loader} loader${args.resume ? ', resumed: the rest only' : ''})`,
      value: `${loadSeconds.toFixed(0)} s`,
      target: '',
      ok: null,
    },
    {
      what: 'load rate',
      value: `${(messages / loadSeconds).toFixed(0)} messages/s, ${(records / loadSeconds).toFixed(0)} source records/s`,
      target: '',
      ok: null,
    },
  ];
}

/**
 * Retries a chunk whose transaction failed for want of lock-table space (53200: a batch of 500 records locks each
 * of their blocking keys, several thousand advisory locks, in a lock table PostgreSQL shares between all sessions of
 * the server — max_locks_per_transaction × max_connections, 6,400 slots by default — so another session's locks
 * can leave too few). Counted and printed: it is a finding of the run, not hidden.
 */
async function retried<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await f();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== '53200' || attempt >= 20) throw e;
      lockRetries += 1;
      log(`  out of lock-table space (53200), chunk retried (${lockRetries} so far)`);
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

/** The population's chunks, timing how long generating them takes (it is part of the load's wall time). */
function* generated(): Generator<PopulationChunk> {
  const it = populationChunks({ customers, chunkPeople: Number(args.chunk) });
  for (;;) {
    const t = performance.now();
    const next = it.next();
    generatingMs += performance.now() - t;
    if (next.done) return;
    yield next.value;
  }
}

function* enumerate<T>(items: Iterable<T>): Generator<[number, T]> {
  let i = 0;
  for (const item of items) yield [i++, item];
}

async function withClient<T>(u: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: u });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

async function count(u: string, sql: string): Promise<number> {
  return withClient(u, async (c) => Number((await c.query<{ count: string }>(sql)).rows[0]?.count ?? 0));
}

/** Keys drawn at random (fixed seed) from active customers: ids, mobile search keys, valid resident ids, names. */
async function pickSamples(u: string, n: number) {
  return withClient(u, async (c) => {
    await c.query('select setseed(0.16)');
    // A random sample without sorting the whole table: about 3n rows by block sampling, then n of them at random.
    const share = Math.min(100, (300 * n) / Math.max(1, await count(u, `select count(*) from party`)));
    const picked = (
      await c.query<{ id: string; name: string | null; kind: string }>(
        `select id, display_name as name, kind from party tablesample bernoulli (${share}) repeatable (16)
          where status = 'ACTIVE' order by random() limit $1`,
        [n],
      )
    ).rows;
    const ids = picked.map((r) => r.id);
    const phones = (
      await c.query<{ k: string }>(
        `select distinct on (party_id) search_key as k from contact_point
          where party_id = any($1::uuid[]) and kind = 'MOBILE' and search_key is not null order by party_id, search_key`,
        [ids],
      )
    ).rows.map((r) => r.k);
    const idNumbers = (
      await c.query<{ v: string }>(
        `select distinct on (party_id) value as v from party_identifier
          where party_id = any($1::uuid[]) and type = 'RESIDENT_ID' and valid order by party_id, value`,
        [ids],
      )
    ).rows.map((r) => r.v);
    const names = picked.filter((r) => r.kind === 'PERSON' && r.name).map((r) => r.name as string);
    return { ids, phones, idNumbers, names };
  });
}

type Server = Target & { stop(): Promise<void> };
type Samples = Awaited<ReturnType<typeof pickSamples>>;

/** Each read at the fixed rate: p50, p99 against its target, CPU per request of the server and of PostgreSQL. */
async function readPass(server: Server, samples: Samples, pass: 'cold' | 'warm', rows: Row[]): Promise<void> {
  const ops: [string, string[], number][] = [
    ['search by phone', samples.phones.map((s) => scaleDocuments.phone(s)), 10],
    ['search by id number', samples.idNumbers.map((s) => scaleDocuments.idNumber(s)), 10],
    ['search by name', samples.names.map((s) => scaleDocuments.name(s)), 10],
    ['customer 360 by id', samples.ids.map((s) => scaleDocuments.customer360(s)), 20],
  ];
  // The warm pass draws other keys than the cold one, so that it does not merely re-read what the cold pass read.
  const offset = pass === 'warm' ? Math.round(rate * (warmup + seconds)) : 0;
  for (const [op, all, target] of ops) {
    const bodies = all.slice(offset).concat(all.slice(0, offset));
    const found = await check(server, bodies.slice(0, 50));
    await paced(server, bodies, { rate, duration: warmup });
    const before = cpu(server.pid, server.database);
    const run = await paced(server, bodies.slice(Math.round(rate * warmup)), { rate, duration: seconds });
    const after = cpu(server.pid, server.database);
    const n = Math.max(1, Math.round(rate * seconds));
    const spent = cpuSpent(before, after);
    const cpuMs = `CPU/req server ${((spent.server * 1000) / n).toFixed(2)} ms, PostgreSQL ${((spent.postgres * 1000) / n).toFixed(2)} ms`;
    log(
      `  ${op} (${pass}): p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms at ${run.sent.toFixed(0)}/s, ${run.failed} failed; ${cpuMs}; ${found} (${elapsed()}, load ${load1()})`,
    );
    rows.push({ what: `${op} p50 (${pass})`, value: `${run.p50.toFixed(1)} ms`, target: '', ok: null });
    rows.push({
      what: `${op} CPU/request (${pass})`,
      value: `${((spent.server * 1000) / n).toFixed(2)} + ${((spent.postgres * 1000) / n).toFixed(2)} ms`,
      target: '',
      ok: null,
    });
    rows.push({
      what: `${op} p99 at ${rate}/s (${pass})`,
      value: `${run.p99.toFixed(1)} ms${run.failed ? ` (${run.failed} failed)` : ''}`,
      target: `< ${target} ms`,
      ok: run.p99 < target && run.failed === 0,
    });
  }
}

/** Waits until no risk work is due (the served process's risk worker settles it), logging the queue now and then. */
async function untilRiskSettled(u: string): Promise<void> {
  const due = () => count(u, `select count(*) from risk_work where not_before <= now()`);
  let n = await due();
  if (n === 0) return;
  const t0 = performance.now();
  log(`risk work due on this store: ${n.toLocaleString('en')} items; waiting for the hub's risk worker to settle them`);
  for (let shown = performance.now(); n > 0; n = await due()) {
    await new Promise((r) => setTimeout(r, 2_000));
    if (performance.now() - shown > 30_000) {
      shown = performance.now();
      log(`  risk work due: ${n.toLocaleString('en')} (${elapsed()})`);
    }
  }
  log(`risk work settled in ${((performance.now() - t0) / 1000).toFixed(0)} s; the store is at rest`);
}

/** The hub's server in a child process (bench/graphql-server.ts) with a CHANNEL_APP token. */
async function startServer(u: string): Promise<Server> {
  // The flags of the hub's npm script (tests/support/hub-node-flags.ts), then BENCH_SERVER_NODE_ARGS: more flags for the
  // server's node (e.g. --trace-gc to see collector pauses in its tail; a later flag overrides an earlier one).
  const nodeArgs = [
    ...hubNodeFlags(),
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  ];
  const proc = spawn(process.execPath, [...nodeArgs, 'bench/graphql-server.ts', 'hub'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: u,
      NODE_ENV: 'production',
      HUB_PROGRAMME: '0',
      HUB_RESOLVE_INTERVAL_SECONDS: '0',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    // The first JSON line says where the server is; anything else it prints (--trace-gc) goes to stderr, and the
    // pipe keeps being read so that the server never blocks on a full one.
    const rl = createInterface({ input: proc.stdout });
    let up = false;
    rl.on('line', (l) => {
      if (!up && l.startsWith('{')) {
        up = true;
        resolve(l);
      } else process.stderr.write(`[server] ${l}\n`);
    });
    proc.once('exit', (code) => reject(new Error(`the hub exited before it was up (${code})`)));
  });
  const ready = JSON.parse(line) as { url: string; token: string };
  log(`hub: up at ${ready.url} (${elapsed()}); CHANNEL_APP token; programme worker and resolution schedule off`);
  return {
    url: ready.url,
    pid: proc.pid ?? 0,
    database: new URL(u).pathname.slice(1),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ready.token}` },
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Each body answered without errors; how many of the answers found something. */
async function check(server: Server, bodies: string[]): Promise<string> {
  let hits = 0;
  for (const body of bodies) {
    const res = await fetch(server.url, { method: 'POST', headers: server.headers, body });
    const text = await res.text();
    if (res.status !== 200 || text.includes('"errors"')) throw new Error(`request failed: ${text.slice(0, 300)}`);
    if (!/^\{"data":\{"(searchCustomers":\{"edges":\[\]|customer":null)/.test(text)) hits += 1;
  }
  return `${hits}/${bodies.length} checked answers found the customer`;
}
