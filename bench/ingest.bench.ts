import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureBroker } from '../scripts/kafka/broker.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { endOffsets, untilConsumed } from '../tests/support/kafka.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger, type LogLevel } from '../src/config/logger.ts';
import { signToken } from '../src/auth/viewer.ts';
import { ingestDepsFor, startHub } from '../src/runtime/hub.ts';
import { resolvePass } from '../src/sync/resolve.ts';
import { connectors } from '../src/connectors/registry.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { createKafka, ensureTopics, publish } from '../src/messaging/kafka.ts';
import { generateTraffic } from '../src/demo/generate-traffic.ts';
import { applyPhaseSeconds, ingestTransactionsTotal, retriesTotal } from '../src/observability/metrics.ts';
import { resetSqlProfile, sqlProfileReport } from '../src/db/query-stats.ts';
import type { DemoMessage } from '../src/demo/generate-core-policy.ts';
import { runFreshnessLoad } from './freshness-load.ts';
import { summariseProfile } from './cpu-profile.ts';
import {
  databaseCpuMeter,
  interleave,
  rawUpsert,
  sessionSampler,
  writeSnapshot,
  writesPerEvent,
} from './ingest-support.ts';

/**
 * End-to-end ingest and freshness, measured side by side in one run on this machine's PostgreSQL and a real
 * Kafka broker:
 *   1. raw: the same messages upserted into one PostgreSQL table (topic, key → jsonb), 500 rows per statement,
 *      one connection — what the database can take with no hub logic at all;
 *   2. hub: the real hub (startHub: connectors, set-based sync, identity resolution with the default matcher,
 *      survivorship, screening, alert rules) consuming the same messages from the broker, from first fetch to
 *      the last position committed; events/s and the ratio to (1);
 *   3. freshness: the running hub fed a steady stream of more traffic (at each of the given rates in turn, default
 *      2,000, then 200, then 50 events/s), plus probes — new app registrations with unique phone numbers —
 *      each timed from publish to found by phone in GraphQL.
 * Targets (issue 4): (2) ≥ 20,000 events/s and ≥ 0.5 of (1); (3) p99 < 500 ms at 2,000 events/s. Issue 16 part 4:
 * (2) ≥ 0.35 of (1) and (3) p99 < 300 ms at 1,500 events/s (`--rates 1500`).
 * Work per event, steadier than wall time on a shared machine: the CPU seconds of the hub process and of its database
 * sessions per 1,000 events (with the load average), and the rows and index entries written per event, from
 * PostgreSQL's counters (bench/ingest-support.ts; (1) writes 1 row and 1 index entry per event), for (2) and for
 * each rate of (3); batches retried (rolled-back writes count too) are printed beside them. From the CPU, the ratio's
 * ceiling: what (2)/(1) could at most be if the hub and its database kept every core of the machine busy.
 * `--programme on|off|both` (default on): the customer programme's derivation (values, segments, follow-ups;
 * HUB_PROGRAMME) on or off; `both` runs (2) and (3) twice on the same messages, each on a fresh database and topics
 * of its own — off, then on — and prints the time each took and the ratio (issue 15: on / off ≤ 1.15);
 * `--repeat N` runs N such pairs, alternating which goes first (`--first on` to start with on), and prints the
 * median ratio. The first run in a process also warms it up (its hub CPU is higher): compare pairs in both orders.
 * Where the time goes, for (2): `--profile` prints the hub process's CPU profile of the catch-up (self time by area and
 * function; the profiler adds its own overhead), `--sessions` what the database sessions were doing (sampled: running
 * a statement, waiting on a lock, or idle inside a transaction, waiting for the hub's next statement), and
 * HUB_SQL_PROFILE=1 the time, count, parameter and result sizes per statement shape (of the catch-up and of each rate's
 * phase; the risk and programme workers' statements only with HUB_WORKERS_THREAD=0, which runs them on the hub's
 * thread as before they had one of their own). BENCH_LOG_LEVEL=debug adds the hub's debug log (each ingest group,
 * each worker round) and each rate's slowest probes with the time they were sent, to line the two up.
 *   npm run bench:ingest [-- --clients 8000 --policies 10000 --rates 2000,200,50 --seconds 30 --programme both --repeat 1
 *                         --profile --sessions]
 */
/** Probes sent in a phase's first seconds, left out of its steady-state figures (printed beside the whole phase's). */
const warmUpSeconds = 5;

/** CPU seconds by session name, largest first: "hub 14.0 s, hub-workers 6.9 s, …". */
function bySessions(by: ReadonlyMap<string, number>, digits = 1): string {
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .map(([app, seconds]) => `${app} ${seconds.toFixed(digits)} s`)
    .join(', ');
}

function quantiles(latencies: readonly number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return `probes ${sorted.length}, p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${q(1).toFixed(0)} ms`;
}

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '8000' },
    policies: { type: 'string', default: '10000' },
    rates: { type: 'string', default: '2000,200,50' },
    seconds: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '1' },
    programme: { type: 'string', default: 'on' },
    repeat: { type: 'string', default: '1' },
    first: { type: 'string', default: 'off' },
    profile: { type: 'boolean', default: false },
    sessions: { type: 'boolean', default: false },
  },
});
if (!['on', 'off', 'both'].includes(String(args.programme))) throw new Error('--programme is on, off or both');
// `both` with --repeat N: N pairs in the order off-on, on-off, off-on … (a load that drifts during the run weighs on
// both sides alike); each pair's ratio and the median are printed.
const pairs = Math.max(1, Number(args.repeat));
const runs: { mode: 'on' | 'off'; run: number }[] =
  args.programme === 'both'
    ? Array.from(
        { length: pairs },
        (_, i) => ((i % 2 === 0) === (args.first !== 'on') ? ['off', 'on'] : ['on', 'off']) as ('on' | 'off')[],
      ).flatMap((pair, i) => pair.map((mode) => ({ mode, run: i })))
    : [{ mode: args.programme as 'on' | 'off', run: 0 }];
/** The hub's log level in the bench (BENCH_LOG_LEVEL, e.g. `info` to see its consumer-group changes); errors only by default. */
const benchLogLevel = (process.env.BENCH_LOG_LEVEL ?? 'error') as LogLevel;
const clients = Number(args.clients);
const policies = Number(args.policies);
const rates = String(args.rates).split(',').map(Number);
const seconds = Number(args.seconds);

const broker = await ensureBroker({ log: (m) => process.stderr.write(`${m}\n`) });
const rawDb = await createTestDatabase('hub_bench_ingest');
// With --programme both, each run reads the same messages from topics of its own (a run's freshness load must not
// become the next run's backlog).
const base = `bench${randomBytes(3).toString('hex')}`;
const prefixOf = (mode: 'on' | 'off', run: number) => (runs.length === 1 ? `${base}.` : `${base}${mode}${run}.`);
const kafka = createKafka(broker.brokers, 'bench-ingest');
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  const traffic = generateTraffic({ clients, policies });
  const byTopic = new Map<string, number>();
  for (const m of traffic) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
  log(`events: ${traffic.length} (${[...byTopic].map(([t, n]) => `${t} ${n}`).join(', ')})`);
  for (const { mode, run } of runs) {
    await ensureTopics(kafka, new TopicRouter(connectors, prefixOf(mode, run)).streamTopics);
    await publish(
      kafka,
      traffic.map((m) => ({ ...m, topic: `${prefixOf(mode, run)}${m.topic}` })),
    );
  }

  // 1. Raw batched upsert of the same messages.
  const rawPool = new pg.Pool({ connectionString: rawDb.url, max: 1 });
  const rawBefore = await writeSnapshot(rawPool, 0);
  const rawSeconds = await rawUpsert(rawDb.url, traffic);
  const rawRate = traffic.length / rawSeconds;
  log(`raw batched upsert:  ${rawRate.toFixed(0)} events/s (${rawSeconds.toFixed(2)} s)`);
  log(`raw writes:          ${writesPerEvent(rawBefore, await writeSnapshot(rawPool, 1_500), traffic.length, 3)}`);
  await rawPool.end();

  const timings: { mode: string; run: number; seconds: number; running: number; cpu: number; freshness: string[] }[] =
    [];
  for (const { mode, run } of runs) timings.push({ ...(await runHub(mode, run, traffic, rawRate)), run });
  if (args.programme === 'both') {
    log('');
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let run = 0; run < pairs; run += 1) {
      const off = timings.find((t) => t.run === run && t.mode === 'off');
      const on = timings.find((t) => t.run === run && t.mode === 'on');
      if (!off || !on) continue;
      ratios.push(on.seconds / off.seconds);
      cpuRatios.push(on.cpu / off.cpu);
      log(
        `pair ${run + 1}: programme off ${off.seconds.toFixed(2)} s (once running ${off.running.toFixed(2)} s, cpu ${off.cpu.toFixed(1)} s), on ${on.seconds.toFixed(2)} s (once running ${on.running.toFixed(2)} s, cpu ${on.cpu.toFixed(1)} s): ratio on / off ${(on.seconds / off.seconds).toFixed(3)} end to end, ${(on.running / off.running).toFixed(3)} once running, ${(on.cpu / off.cpu).toFixed(3)} cpu`,
      );
      for (const [i, line] of off.freshness.entries())
        log(`  freshness off: ${line}\n  freshness on:  ${on.freshness[i] ?? ''}`);
    }
    ratios.sort((a, b) => a - b);
    cpuRatios.sort((a, b) => a - b);
    const median = ratios[Math.floor(ratios.length / 2)] as number;
    const cpuMedian = cpuRatios[Math.floor(cpuRatios.length / 2)] as number;
    const total = (mode: string) => timings.filter((t) => t.mode === mode).reduce((sum, t) => sum + t.seconds, 0);
    log(
      `ratio on / off: median of ${ratios.length} pair(s) ${median.toFixed(3)}, of summed times ${(total('on') / total('off')).toFixed(3)}; cpu (hub + its database sessions) median ${cpuMedian.toFixed(3)} (target ≤ 1.15)`,
    );
  }
} finally {
  if (!process.env.BENCH_KEEP_DB) await rawDb.drop();
  else log(`kept database ${rawDb.url}`);
}

/** (2) and (3) with the programme's derivation on or off, on a database of their own; returns the times. */
async function runHub(mode: 'on' | 'off', run: number, traffic: readonly DemoMessage[], rawRate: number) {
  log(`\n— customer programme ${mode}${pairs > 1 ? ` (pair ${run + 1})` : ''} —`);
  const prefix = prefixOf(mode, run);
  const router = new TopicRouter(connectors, prefix);
  applyPhaseSeconds.reset();
  retriesTotal.reset();
  ingestTransactionsTotal.reset();
  const db = await createTestDatabase('hub_bench_ingest');
  const freshnessLines: string[] = [];
  const result = { mode, seconds: 0, running: 0, cpu: 0, freshness: freshnessLines };
  try {
    // 2. The hub, end to end.
    const config = loadConfig({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: `bench-${prefix}`,
      PORT: '0',
      HUB_JWT_SECRET: 'bench-secret-bench-secret-bench-secret-00',
      LOG_LEVEL: benchLogLevel,
      INGEST_CONCURRENCY: args.concurrency,
      RISK_ROUND_MS: process.env.RISK_ROUND_MS,
      RISK_ROUND_MAX_MS: process.env.RISK_ROUND_MAX_MS,
      PROGRAMME_ROUND_MS: process.env.PROGRAMME_ROUND_MS,
      HUB_WORKERS_THREAD: process.env.HUB_WORKERS_THREAD,
      HUB_INGEST_MAX_KEY_LOCKS: process.env.HUB_INGEST_MAX_KEY_LOCKS,
      // The bench runs the resolution pass itself after the ingest; the hub's own schedule would land in the middle
      // of a slow run and count its work as ingest's.
      HUB_RESOLVE_INTERVAL_SECONDS: '0',
      HUB_PROGRAMME: mode === 'on' ? '1' : '0',
      // The freshness probes search by phone far above a channel app's limit; they are the bench's own load.
      HUB_SEARCH_RATE_PER_MINUTE: '100000',
      DB_POOL_MAX: String(Number(args.concurrency) + 6),
    });
    const ends = await endOffsets(broker.brokers, router.streamTopics);
    const statsPool = new pg.Pool({ connectionString: db.url, max: 1 });
    const dbCpuMeter = databaseCpuMeter(statsPool);
    const writesBefore = await writeSnapshot(statsPool, 0);
    const profiler = args.profile ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const hub = await startHub(config, { demo: false, logger: createLogger(benchLogLevel) });
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      // When the first transaction committed: the rate from there on leaves out start-up and the group join.
      let firstCommit: number | null = null;
      const watchFirst = (async () => {
        while (firstCommit === null) {
          const {
            rows: [r],
          } = await pool.query(`select count(*)::int as n from consumer_offset`);
          if ((r as { n: number }).n > 0) firstCommit = performance.now();
          else await new Promise((res) => setTimeout(res, 20));
        }
      })();
      const sessions = args.sessions ? sessionSampler(db.url) : null;
      await untilConsumed(db.url, ends, 1_800_000);
      if (sessions) for (const line of await sessions.stop()) log(line);
      await watchFirst;
      const finished = performance.now();
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        const file = join(mkdtempSync(join(tmpdir(), 'hub-ingest-profile-')), 'catch-up.cpuprofile');
        writeFileSync(file, JSON.stringify(profile));
        const summary = summariseProfile(file, 40);
        log(
          `hub CPU profile of the catch-up (${file}): ${(summary.busyMs / 1000).toFixed(1)} s busy; self time by area:`,
        );
        for (const a of summary.areas)
          log(`  ${(a.ms / 1000).toFixed(2).padStart(6)} s ${(a.share * 100).toFixed(1).padStart(5)} %  ${a.name}`);
        log('by function:');
        for (const f of summary.functions)
          log(`  ${(f.ms / 1000).toFixed(2).padStart(6)} s ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`);
      }
      const hubSeconds = (finished - started) / 1000;
      // CPU spent: this process (the hub; the bench's own polling is the same in both modes) and the database
      // sessions of this database (the hub's pool) — work done, much less sensitive than wall time to what else
      // runs on a shared machine.
      const cpu = process.cpuUsage(cpuStarted);
      const hubCpu = (cpu.user + cpu.system) / 1e6;
      const dbCpu = await dbCpuMeter.read();
      const hubRate = traffic.length / hubSeconds;
      const {
        rows: [counts],
      } =
        await pool.query(`select (select count(*) from party where status = 'ACTIVE')::int as parties, (select count(*) from source_record)::int as records,
        (select count(*) from activity)::int as activities, (select count(*) from quarantined_event)::int as quarantined, (select count(*) from alert)::int as alerts,
        (select count(*) from customer_value)::int as "customerValues", (select count(*) from follow_up)::int as "followUps"`);
      log(
        `hub end to end:      ${hubRate.toFixed(0)} events/s (${hubSeconds.toFixed(2)} s, incl. start-up and consumer-group join)`,
      );
      log(`ratio hub / raw:     ${(hubRate / rawRate).toFixed(3)}`);
      // Events committed from the first transaction's commit to the last (the first transaction's own events
      // are counted, so this slightly overstates; it is the pipeline's rate once running).
      const runningRate = traffic.length / ((finished - (firstCommit ?? started)) / 1000);
      log(
        `hub once running:    ${runningRate.toFixed(0)} events/s (from the first commit; ratio to raw ${(runningRate / rawRate).toFixed(3)})`,
      );
      result.seconds = hubSeconds;
      result.running = (finished - (firstCommit ?? started)) / 1000;
      result.cpu = hubCpu + dbCpu;
      const perK = (x: number) => ((x * 1000) / traffic.length).toFixed(3);
      log(
        `cpu:                 hub process ${hubCpu.toFixed(1)} s, its PostgreSQL sessions ${dbCpu.toFixed(1)} s (${bySessions(dbCpuMeter.byApplication())}); per 1,000 events ${perK(hubCpu)} + ${perK(dbCpu)} s (load average ${loadAverage()})`,
      );
      // The most the ratio could be at this CPU per event if the hub and its database used every core of the
      // machine all the time and nothing else ran (not the broker, not the bench): the cores' time in the raw
      // upsert's duration over the CPU the hub's run took. A ratio target above it needs less CPU per event, not
      // better overlap.
      // The bench's own database sessions (its polling) are left out; its polling in this process, and a profiler
      // with --profile, are not (they make the ceiling a little lower than the hub alone's).
      const cores = availableParallelism();
      const hubsCpu = hubCpu + dbCpu - (dbCpuMeter.byApplication().get('(bench)') ?? 0);
      log(
        `ratio ceiling:       ${((cores * traffic.length) / rawRate / hubsCpu).toFixed(3)} (${cores} cores × the raw upsert's ${(traffic.length / rawRate).toFixed(2)} s over the hub's ${hubsCpu.toFixed(1)} s of CPU: every core busy, nothing else running)`,
      );
      log(`writes:              ${writesPerEvent(writesBefore, await writeSnapshot(statsPool), traffic.length)}`);
      // Transactions retried (their rolled-back writes are in the counts above).
      const retries = (await retriesTotal.get()).values.filter((v) => v.value > 0);
      const transactions = (await ingestTransactionsTotal.get()).values[0]?.value ?? 0;
      log(
        `transactions:        ${transactions} (${(traffic.length / Math.max(1, transactions)).toFixed(0)} events each on average)`,
      );
      log(`retried batches:     ${retries.map((v) => `${String(v.labels.cause)} ${v.value}`).join(', ') || 'none'}`);
      log(`store after ingest:  ${JSON.stringify(counts)}`);
      // Statements of this thread: ingest, the outbox and GraphQL — and the risk and programme workers only with
      // HUB_WORKERS_THREAD=0 (on their own thread they count in its own profile). The resolution pass below is left out.
      const sql = sqlProfileReport(45);
      if (sql) log(sql);
      // Streaming decides records in arrival order, which differs from run to run; the resolution pass (run by the
      // hub on its schedule) makes the partition independent of it — golden counts after it are the same every run.
      // With the hub's own programme setting: with the programme off no worker would settle what it queued, and
      // every later phase would wait for it.
      const streaming = ingestDepsFor(prefix, 'queue', config.programme);
      const pass = await resolvePass(hub.orm, streaming.matcher, (em, changed) => streaming.followUp.run(em, changed), {
        full: true,
      });
      const {
        rows: [resolved],
      } = await pool.query(`select count(*)::int as parties from party where status = 'ACTIVE'`);
      log(
        `after resolution:    ${resolved.parties} golden records (${pass.moved} records moved, ${pass.merged} merged, ${pass.created} created; pass over ${pass.seeds} golden records)`,
      );
      const phases = (await applyPhaseSeconds.get()).values.map(
        (v) => `${String(v.labels.phase)} ${v.value.toFixed(1)} s`,
      );
      log(`apply time by phase: ${phases.join(', ')} (summed over ${args.concurrency} concurrent partitions)`);

      // 3. Freshness under a steady load.
      const token = await signToken(hub.tokens, 'bench', ['CHANNEL_APP']);
      // New business: other people under client, policy, claim and call numbers the store has not seen (the
      // generator numbers from the same start, so they are renumbered).
      const renumber = <T extends string | null>(v: T): T =>
        v === null
          ? v
          : (v
              .replace(/\bC(1\d{6})\b/g, 'N$1')
              .replace(/\bP(1\d{6})\b/g, 'Q$1')
              .replaceAll('7f1c2d6e-', '8f1c2d6e-')
              .replaceAll('CALL-', 'CALL-N') as T);
      // Interleaved across topics (each topic in its own order), so every second of load has the stream's mix of
      // customers, policies, payments, claims and calls rather than a run of one table.
      // Enough of it for every phase (scaled from the ingest set's size), so no phase runs short of load.
      const needed = rates.reduce((sum, r) => sum + r * seconds, 0);
      const scale = Math.max(1, Math.ceil(needed / traffic.length));
      const more = interleave(generateTraffic({ seed: 7, clients: clients * scale, policies: policies * scale })).map(
        (m) => ({ topic: `${prefix}${m.topic}`, key: renumber(m.key), value: renumber(m.value) }),
      );
      let offset = 0;
      for (const [i, rate] of rates.entries()) {
        // Each phase starts after the previous one's backlog is applied, on traffic it has not seen.
        await untilConsumed(db.url, await endOffsets(broker.brokers, router.streamTopics), 3_600_000);
        const load = more.slice(offset, offset + rate * seconds);
        offset += load.length;
        const phaseWrites = await writeSnapshot(statsPool, 0);
        resetSqlProfile();
        const phaseCpu = process.cpuUsage();
        const phaseDbCpu = await dbCpuMeter.read();
        const phaseDbBy = dbCpuMeter.byApplication();
        const done = await runFreshnessLoad({
          url: hub.url,
          token,
          brokers: broker.brokers,
          databaseUrl: db.url,
          groupId: config.kafkaGroupId,
          phase: i,
          prefix,
          load,
          perSecond: rate,
          durationSeconds: seconds,
        });
        log(`freshness load: ${done.sent} events in ${done.seconds.toFixed(1)} s (load and probes in a worker thread)`);
        const latencies = done.latencies;
        await untilConsumed(db.url, await endOffsets(broker.brokers, router.streamTopics), 3_600_000);
        const phaseEvents = load.length + latencies.length;
        const used = process.cpuUsage(phaseCpu);
        const phaseDb = (await dbCpuMeter.read()) - phaseDbCpu;
        const phaseBy = new Map(
          [...dbCpuMeter.byApplication()].map(([app, seconds]) => [
            app,
            ((seconds - (phaseDbBy.get(app) ?? 0)) * 1000) / phaseEvents,
          ]),
        );
        log(
          `  cpu at ${rate}/s: bench process (hub, load and probes) ${((used.user + used.system) / 1e3 / phaseEvents).toFixed(3)} s, its PostgreSQL sessions ${((phaseDb * 1000) / phaseEvents).toFixed(3)} s per 1,000 events (${bySessions(phaseBy, 3)}; load average ${loadAverage()})`,
        );
        log(`  writes at ${rate}/s: ${writesPerEvent(phaseWrites, await writeSnapshot(statsPool), phaseEvents, 6)}`);
        if (benchLogLevel === 'debug')
          for (const i of latencies
            .map((_, i) => i)
            .sort((a, b) => (latencies[b] ?? 0) - (latencies[a] ?? 0))
            .slice(0, 8))
            log(
              `  slow probe: sent ${new Date(done.sentAt[i] ?? 0).toISOString()}, ${latencies[i]?.toFixed(0)} ms (committed after ${done.committed[i]?.toFixed(0)} ms)`,
            );
        // Beside the whole phase, the probes sent after its first seconds: the load starts on a hub that has been
        // idle since the catch-up (the broker, the load's producer and the hub's fetches start cold, and the first
        // check of table statistics analyses what the catch-up's last transactions changed), and the worst probes
        // of a phase are those of its first 2–3 s. Both are printed; the whole phase is the figure of record.
        const firstSent = Math.min(...done.sentAt);
        const steady = latencies.filter((_, i) => (done.sentAt[i] ?? 0) >= firstSent + warmUpSeconds * 1000);
        // The part of a probe's time until the bench saw its transaction committed (its position, polled every 5 ms;
        // the rest is the search through GraphQL).
        const line = `at ${rate} events/s for ${seconds} s: ${quantiles(latencies)}; probes sent after the first ${warmUpSeconds} s: ${quantiles(steady)}; until committed: ${quantiles(done.committed)}`;
        freshnessLines.push(line);
        log(`freshness ${line}`);
        const phaseSql = sqlProfileReport(30);
        if (phaseSql)
          log(
            `statements at ${rate}/s (ingest, outbox and GraphQL; the workers only with HUB_WORKERS_THREAD=0):\n${phaseSql}`,
          );
      }
    } finally {
      await pool.end();
      dbCpuMeter.stop();
      await statsPool.end();
      await hub.stop();
    }
  } finally {
    if (!process.env.BENCH_KEEP_DB) await db.drop();
    else log(`kept database ${db.url}`);
  }
  return result;
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
