import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectors } from '../src/connectors/registry.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { createKafka, ensureTopics } from '../src/messaging/kafka.ts';
import { testJwtSecret } from '../tests/support/hub.ts';
import { consumedAll, consumedPositions, endOffsets } from '../tests/support/kafka.ts';
import { converge, storeFingerprint } from '../tests/support/fingerprint.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { compareFingerprints, deadlocks, type Finding, heapReport, memoryVerdict, storeChecks } from './checks.ts';
import { type Instance, launchInstance, sampleHeap, sampleRss, stopInstance } from './instances.ts';
import { buildStream, startProducer } from './traffic.ts';

/**
 * Soak (issue 16): hub instances in ONE consumer group on one database under a steady load over every source
 * topic, with a forced rebalance every few seconds — phase A two instances, phase B three; the total duration is
 * split evenly between them. One instance (the survivor) runs from start to end; the others are stopped in turn,
 * with SIGTERM or now and then SIGKILL, and replaced. At the end: the group drains, and the store must equal a
 * reference store built by one hub without rebalances from the same messages (after the resolution pass on
 * both), with one activity row per key sent, only the unreadable messages quarantined, positions at the end
 * offsets, and the survivor's memory flat over the second half.
 *   npm run soak [-- --minutes 10 --rate 300 --interval 8 --kill-every 4 --session-timeout 10000 --keep]
 */
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    interval: { type: 'string', default: '8' },
    'kill-every': { type: 'string', default: '4' },
    'session-timeout': { type: 'string', default: '10000' },
    'drain-timeout': { type: 'string', default: '900' },
    'max-growth-percent': { type: 'string', default: '10' },
    'max-growth-mb': { type: 'string', default: '50' },
    seed: { type: 'string', default: '16' },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(args.minutes);
const rate = Number(args.rate);
const intervalMs = Number(args.interval) * 1000;
const killEvery = Number(args['kill-every']);
const durationMs = minutes * 60_000;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
const prefix = process.env.KAFKA_TOPIC_PREFIX ?? `soak${randomBytes(3).toString('hex')}.`;
const logFile = join(tmpdir(), `soak-${process.pid}.log`);
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const cpuLoad = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

log(`soak: ${minutes} min at ${rate} events/s (phase A two instances, phase B three, ${minutes / 2} min each)`);
log(
  `  a forced rebalance every ${intervalMs / 1000} s, every ${killEvery}th stop a SIGKILL; topics ${prefix}*; hub logs ${logFile}`,
);
log(`  machine: load average ${cpuLoad()} at start`);

const stream = buildStream({ seed: Number(args.seed), events: Math.ceil(rate * (durationMs / 1000)) });
const [db, ref] = await Promise.all([createTestDatabase('hub_soak'), createTestDatabase('hub_soak_ref')]);
const router = new TopicRouter(connectors, prefix);
const kafka = createKafka(brokers, 'soak');
await ensureTopics(kafka, router.streamTopics);
const group = `soak-${prefix}`;
const env = (database: string, groupId: string): Record<string, string> => ({
  DATABASE_URL: database,
  KAFKA_BROKERS: brokers.join(','),
  KAFKA_TOPIC_PREFIX: prefix,
  KAFKA_GROUP_ID: groupId,
  HUB_JWT_SECRET: testJwtSecret,
  LOG_LEVEL: 'warn',
  // How long the group waits for a SIGKILLed instance before handing its partitions on.
  KAFKA_SESSION_TIMEOUT_MS: String(args['session-timeout']),
});

const instances: Instance[] = [];
const live = () => instances.filter((i) => i.ended === null);
let started = 0;
/** Instances that joined the group (came up) while the load ran: each join, like each stop, is a rebalance. */
let joins = 0;
let loadRunning = false;
/** Launches an instance into the group; the schedule goes on while it starts (10–15 s on a loaded machine). */
const start = (survivor = false) => {
  started += 1;
  const i = launchInstance(`hub${started}`, env(db.url, group), { survivor, logFile });
  instances.push(i);
  void i.up.then(
    () => {
      if (loadRunning) joins += 1;
      log(`${clock()}  ${i.name} up in ${i.upMs} ms, joined the group`);
    },
    () => {},
  );
  return i;
};
const sampler = setInterval(() => {
  const t = Date.now();
  for (const i of live()) {
    sampleRss(i, t);
    if (i.survivor) void sampleHeap(i, t);
  }
}, 5_000);

/**
 * The resolution pass over a whole store, again if PostgreSQL ran out of shared memory for locks (53200: the lock
 * table is the server's, shared with whatever else runs on it) or aborted it as a deadlock; it is idempotent.
 */
async function retried(run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (e) {
      const err = e as { code?: unknown; sqlState?: unknown; cause?: { code?: unknown } };
      const code = String(err.sqlState ?? err.code ?? err.cause?.code ?? '');
      if (attempt >= 4 || !['53200', '40P01', '40001'].includes(code)) throw e;
      log(`${clock()}  resolution pass failed (${code}); again`);
      await sleep(5_000 * attempt);
    }
  }
}

let exitCode = 1;
let reference: Instance | null = null;
const findings: Finding[] = [];
try {
  const survivor = start(true);
  const second = start();
  // The reference: one hub, never rebalanced, with a group and database of its own, reading the same topics beside
  // the soak group from the start (after the load it alone took 17 minutes to catch up on this 2-core machine).
  reference = launchInstance('reference', env(ref.url, `soak-ref-${prefix}`), { logFile });
  await Promise.all([survivor.up, second.up, reference.up]);
  const producer = startProducer({ kafka, prefix, stream, rate });
  const loadStarted = Date.now();
  loadRunning = true;
  log(`${clock()}  phase A: hub1 (survivor) and hub2 up; producing`);
  const actions = { stops: 0, kills: 0 };
  const joinsBefore = joins;
  const phases: { name: string; ms: number }[] = [];
  let lastProgress = Date.now();
  const progress = async () => {
    if (Date.now() - lastProgress < 60_000) return;
    lastProgress = Date.now();
    const applied = [...(await consumedPositions(db.url)).values()].reduce((a, b) => a + b, 0n);
    const rss = survivor.rss.at(-1)?.bytes ?? 0;
    log(
      `${clock()}  sent ${producer.sent()}, positions ${applied}, ${live().length} live, survivor RSS ${(rss / 1048576).toFixed(0)} MB, load ${cpuLoad()}`,
    );
  };
  for (const [name, target, until] of [
    ['A', 2, loadStarted + durationMs / 2],
    ['B', 3, loadStarted + durationMs],
  ] as const) {
    const phaseStart = Date.now();
    while (Date.now() < until) {
      await sleep(Math.min(intervalMs, Math.max(0, until - Date.now())));
      if (Date.now() >= until) break;
      // Below the phase's count: launch a replacement; at it: stop the oldest instance that is up (not the survivor).
      const oldest = live().find((i) => !i.survivor && i.upMs !== null);
      if (live().length < target) {
        const i = start();
        log(`${clock()}  launched ${i.name}`);
      } else if (oldest) {
        actions.stops += 1;
        const how = actions.stops % killEvery === 0 ? 'SIGKILL' : 'SIGTERM';
        if (how === 'SIGKILL') actions.kills += 1;
        await stopInstance(oldest, how);
        const lived = ((Date.now() - oldest.startedAt) / 1000).toFixed(0);
        log(`${clock()}  ${how} ${oldest.name} (lived ${lived} s, gone in ${oldest.stopMs} ms)`);
      } else continue;
      await progress();
    }
    phases.push({ name, ms: Date.now() - phaseStart });
    if (name === 'A') log(`${clock()}  phase B: three instances`);
  }
  const sentCount = await producer.stop();
  const loadEnded = Date.now();
  loadRunning = false;
  const rebalances = actions.stops + joins - joinsBefore;
  log(
    `${clock()}  producing stopped: ${sentCount} sent (${(sentCount / ((loadEnded - loadStarted) / 1000)).toFixed(0)} events/s; at most ${producer.behindMax()} behind)`,
  );
  while (live().length < 3) start();
  await Promise.all(live().map((i) => i.up));

  // Drain: every partition's stored position at its end offset and the risk and programme queues empty.
  const ends = await endOffsets(brokers, router.streamTopics);
  const drainStart = Date.now();
  const drainDeadline = drainStart + Number(args['drain-timeout']) * 1000;
  while (!(await consumedAll(db.url, ends))) {
    if (Date.now() > drainDeadline)
      throw new Error(`the group did not drain in ${args['drain-timeout']} s (hub logs: ${logFile})`);
    await sleep(500);
  }
  const drainMs = Date.now() - drainStart;
  log(`${clock()}  drained in ${(drainMs / 1000).toFixed(1)} s`);
  for (const i of live()) await stopInstance(i, 'end');
  clearInterval(sampler);

  while (!(await consumedAll(ref.url, ends))) {
    if (Date.now() - drainStart > 1_800_000) throw new Error('the reference hub did not apply everything in 30 min');
    await sleep(500);
  }
  await stopInstance(reference, 'end');
  log(
    `${clock()}  reference applied everything ${((Date.now() - loadEnded) / 1000).toFixed(1)} s after the load ended`,
  );

  const sent = stream.slice(0, sentCount);
  findings.push(...(await storeChecks(db.url, sent, ends)));
  const convergeStart = Date.now();
  await Promise.all([retried(() => converge(db.url)), retried(() => converge(ref.url))]);
  log(`${clock()}  resolution pass on both stores in ${((Date.now() - convergeStart) / 1000).toFixed(1)} s`);
  findings.push(...compareFingerprints(await storeFingerprint(db.url), await storeFingerprint(ref.url)));
  const dl = await deadlocks(db.url);
  findings.push({ check: 'deadlocks (pg_stat_database)', ok: dl === 0, detail: String(dl) });
  const clean = instances.filter((i) => i.ended === 'SIGTERM' || i.ended === 'end');
  const hung = clean.filter((i) => i.stopMs === -1 || i.exit?.code !== 0);
  findings.push({
    check: 'graceful stops',
    ok: hung.length === 0,
    detail: `${clean.length} SIGTERM stops; ${hung.length} hung or exited non-zero${hung.length ? ` (${hung.map((i) => `${i.name}: ${i.stopMs} ms, exit ${i.exit?.code ?? i.exit?.signal}`).join(', ')})` : ''}`,
  });
  const memory = memoryVerdict(
    survivor.rss,
    { from: loadStarted + durationMs / 2, to: loadEnded },
    { maxPercent: Number(args['max-growth-percent']), maxMb: Number(args['max-growth-mb']) },
  );
  findings.push(memory.finding);
  const heap = heapReport(survivor.heap, { from: loadStarted + durationMs / 2, to: loadEnded }, survivor.startedAt);

  // ---- Report.
  const byTopic = new Map<string, number>();
  for (const m of sent) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
  const sum = (outcome: string) =>
    instances.filter((i) => i.name !== 'reference').reduce((a, i) => a + (i.events[outcome] ?? 0), 0);
  log('\n=== soak report ===');
  log(
    `events sent: ${sentCount} over ${((loadEnded - loadStarted) / 1000).toFixed(0)} s (${[...byTopic].map(([t, n]) => `${t} ${n}`).join(', ')})`,
  );
  log(`  of them ${sent.filter((m) => m.bad).length} deliberately unreadable`);
  log(
    `hub_events_total over all instances (read at each stop; a SIGKILLed instance's last minute may be missing): applied ${sum('applied')}, stale ${sum('stale')}, skipped (redelivered) ${sum('skipped')}, quarantined ${sum('quarantined')}`,
  );
  log(
    `phases: ${phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(0)} s`).join(', ')}; forced rebalances ${rebalances} while producing, one every ${((loadEnded - loadStarted) / 1000 / Math.max(1, rebalances)).toFixed(1)} s (${joins - joinsBefore} joins, ${actions.stops} stops of which ${actions.kills} SIGKILL; ${started} instances started in all)`,
  );
  log(`drain after the load: ${(drainMs / 1000).toFixed(1)} s; load average at the end ${cpuLoad()}`);
  log('instances:');
  log('  name       lived s   up ms   ended     stop ms   RSS min–max MB   error lines   retries by cause');
  for (const i of instances) {
    const rss = i.rss.map((s) => s.bytes / 1048576);
    log(
      `  ${(i.name + (i.survivor ? '*' : '')).padEnd(10)} ${(((i.stoppedAt ?? Date.now()) - i.startedAt) / 1000).toFixed(0).padStart(7)}   ${String(i.upMs).padStart(5)}   ${String(i.ended).padEnd(8)}  ${String(i.stopMs ?? '').padStart(7)}   ${rss.length ? `${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)}`.padStart(14) : '             –'}   ${String(i.errors).padStart(11)}   ${JSON.stringify(i.retries)}`,
    );
  }
  log(`survivor (${survivor.name}) RSS per minute since its start:`);
  for (const line of memory.table) log(line);
  log(`survivor (${survivor.name}) heap per minute since its start (from its /metrics):`);
  for (const line of heap.table) log(line);
  log(`  heap: ${heap.detail}`);
  log('checks:');
  for (const f of findings) log(`  ${f.ok ? 'ok  ' : 'FAIL'}  ${f.check}: ${f.detail}`);
  const failed = findings.filter((f) => !f.ok);
  log(`verdict: ${failed.length === 0 ? 'PASS' : `FAIL (${failed.map((f) => f.check).join(', ')})`}`);
  exitCode = failed.length === 0 ? 0 : 1;
} catch (e) {
  log(`soak aborted: ${(e as Error).stack ?? String(e)}`);
} finally {
  clearInterval(sampler);
  for (const i of [...live(), ...(reference?.ended === null ? [reference] : [])])
    await stopInstance(i, 'SIGKILL').catch(() => {});
  if (args.keep) log(`kept databases ${db.url} and ${ref.url}`);
  else await Promise.all([db.drop(), ref.drop()]);
}
process.exit(exitCode);
