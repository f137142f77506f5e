import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { closeWithin, openOrm } from '../db/orm.ts';
import { oneRoundAtATime } from '../db/worker-rounds.ts';
import { maybeExitWorkersThread } from '../ingest/fault-injection.ts';
import { applyWorkerMetrics, type WorkerMetricReport, workerMetricReporter } from '../observability/metrics.ts';
import { startProgrammeWorker } from '../programme/programme-worker.ts';
import { startRiskWorker } from '../risk/risk-worker.ts';

/**
 * The background workers: the risk worker (screening, alert rules, relationships and households of what ingest
 * queued) and the programme worker (values, follow-ups, recompute jobs). On PostgreSQL they run on a thread of their
 * own (`startWorkerThread`), with their own connections; on the embedded database, whose one session is served from
 * this thread anyway, beside ingest (`startBackgroundWorkers`).
 *
 * Why a thread: an ingest transaction is a few dozen statements, one after the other, and each waits for this
 * thread to take its result. A risk round's own work on the thread (building a round's lookups, reading tens of
 * thousands of relationship rows) sat between those statements: at 1,500 events/s, ingest transactions took
 * 150–180 ms instead of 30–50 during each ~0.5 s round, and the probes that arrived then were the slowest of the
 * freshness benchmark (docs/measurements.md). On a thread of their own the rounds only share the database.
 */
export type BackgroundWorkers = {
  /** Work was queued (an ingest commit, after which `waiting` messages wait to be applied). */
  wake(waiting?: number): void;
  /** Rounds in progress finish; then the workers stop. */
  stop(): Promise<void>;
};

export type WorkerSettings = {
  topicPrefix: string;
  riskRoundMs: number;
  riskRoundMaxMs: number;
  programme: boolean;
  programmeRoundMs: number;
  programmeRefreshHours: number;
};

/** The workers on this thread, with the given ORM; `afterRiskRound` after each risk round that settled work. */
export function startBackgroundWorkers(
  orm: MikroORM,
  settings: WorkerSettings,
  logger: Logger,
  afterRiskRound: () => void,
  /** How much of its thread a worker may take: a round of d ms is followed by at least (busyFactor − 1) × d of rest. */
  busyFactor = 4,
): BackgroundWorkers {
  // One round at a time, risk or programme: two rounds' statements at once slowed ingest's transactions most.
  const turns = oneRoundAtATime();
  const risk = startRiskWorker({
    orm,
    turns,
    topicPrefix: settings.topicPrefix,
    logger,
    roundMs: settings.riskRoundMs,
    maxIntervalMs: settings.riskRoundMaxMs,
    afterSettle: afterRiskRound,
    busyFactor,
  });
  const programme = settings.programme
    ? startProgrammeWorker({
        orm,
        turns,
        logger,
        roundMs: settings.programmeRoundMs,
        refreshHours: settings.programmeRefreshHours,
        busyFactor,
      })
    : null;
  return {
    wake(waiting) {
      risk.wake(waiting);
      programme?.wake(waiting);
    },
    async stop() {
      await Promise.all([risk.stop(), programme?.stop()]);
    },
  };
}

/** Connections of the workers' thread: one each for the two workers, one for the risk queue's age. */
const threadPoolMax = 3;
/** How long `stop` waits for the thread's rounds to finish and its pool to close. */
const stopWaitMs = 30_000;
/** How long the thread waits for its pool to close (closeWithin: a dropped client can stay checked out). */
const poolCloseMs = 10_000;
/** On their own thread a worker's round is followed by at least as long a rest (half the thread). */
const threadBusyFactor = 2;
/** A thread that ran this long before it ended is started again after 1 s, not after a longer backoff. */
const steadyMs = 60_000;

type ToThread = { type: 'wake'; waiting?: number } | { type: 'stop' };
type FromThread =
  | { type: 'ready' }
  | { type: 'round' }
  | { type: 'metrics'; report: WorkerMetricReport }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'stopped' };
type ThreadData = { role: 'hub-background-workers'; databaseUrl: string; settings: WorkerSettings };

/**
 * The workers on a thread of their own, connected to `databaseUrl` (the hub has connected and migrated before).
 * Resolves once the thread's workers run; rejects if the thread ends before (it cannot load). Its logs go through
 * `logger` and its metrics to this thread's registry. A thread that dies is logged and started again (after 1 s,
 * doubling to 30 s while it keeps dying within a minute): what ingest queued stays queued until a round settles it.
 */
export async function startWorkerThread(
  databaseUrl: string,
  settings: WorkerSettings,
  logger: Logger,
  afterRiskRound: () => void,
): Promise<BackgroundWorkers> {
  let stopping = false;
  /** Restarts since the last thread that ran for `steadyMs`: the backoff doubles with each. */
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** A thread being started (the first, or a restart): `stop` waits for it, then stops it. */
  let starting: Promise<void> | null = null;
  let stopped: (() => void) | null = null;
  /** The running thread; null between its exit and a restart. */
  let current: Worker | null = null;
  /** The latest wake-up while no thread ran: passed to the next one. */
  let missed: { waiting?: number } | null = null;

  /** Starts a thread; resolves once its workers run, rejects if it ends before. */
  const spawn = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const data: ThreadData = { role: 'hub-background-workers', databaseUrl, settings };
      const thread = new Worker(new URL(import.meta.url), { workerData: data });
      let readyAt: number | null = null;
      thread.on('message', (m: FromThread) => {
        if (m.type === 'ready') {
          readyAt = performance.now();
          resolve(thread);
        } else if (m.type === 'round') afterRiskRound();
        else if (m.type === 'metrics') applyWorkerMetrics(m.report);
        else if (m.type === 'log') logger[m.level](m.msg, m.fields);
        else if (m.type === 'stopped') stopped?.();
      });
      thread.on('error', (e) => {
        if (readyAt === null) reject(e);
        else logger.error('the background workers thread failed', { error: e });
      });
      thread.on('exit', (code) => {
        if (readyAt === null)
          return reject(new Error(`the background workers thread exited with ${code} before it started`));
        if (current === thread) current = null;
        stopped?.();
        if (stopping) return;
        if (performance.now() - readyAt >= steadyMs) restarts = 0;
        scheduleRestart({ code });
      });
    });
  /** Starts the thread again after a backoff (1 s, doubling to 30 s), until it runs or the hub stops. */
  const scheduleRestart = (why: Record<string, unknown>) => {
    const delay = Math.min(30_000, 1_000 * 2 ** restarts);
    restarts += 1;
    logger.error('the background workers thread exited; starting it again', { ...why, delayMs: delay });
    restartTimer = setTimeout(() => {
      starting = spawn().then(
        async (t) => {
          // Stopped while it started: it is not kept.
          if (stopping) await t.terminate();
          else {
            current = t;
            // What the consumer reported while no thread ran (a backlog holds the new thread's rounds too).
            if (missed) t.postMessage({ type: 'wake', waiting: missed.waiting } satisfies ToThread);
            missed = null;
          }
        },
        (e: unknown) => {
          if (!stopping) scheduleRestart({ error: e });
        },
      );
    }, delay);
  };

  current = await spawn();
  return {
    wake(waiting) {
      if (current) current.postMessage({ type: 'wake', waiting } satisfies ToThread);
      else missed = { waiting };
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      await starting;
      const thread = current;
      if (!thread) return;
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      thread.postMessage({ type: 'stop' } satisfies ToThread);
      // Rounds in progress finish (each is one transaction); a thread that still has not stopped after this long
      // is ended — what it had not committed stays queued for the next start.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), stopWaitMs);
      });
      if ((await Promise.race([done, late])) === 'late')
        logger.warn('the background workers thread did not stop in time; ended', { waitedMs: stopWaitMs });
      clearTimeout(timer);
      await thread.terminate();
    },
  };
}

/** The thread's logger: every line goes to the main thread's logger (its level, format and destination). */
function forwardingLogger(port: NonNullable<typeof parentPort>): Logger {
  const send = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => {
    try {
      port.postMessage({ type: 'log', level, msg, fields } satisfies FromThread);
    } catch {
      // A field that cannot be copied to the main thread (a function, a handle): the line without its fields.
      port.postMessage({ type: 'log', level, msg, fields: { fieldsDropped: Object.keys(fields ?? {}) } });
    }
  };
  const logger: Logger = {
    debug: (m, f) => send('debug', m, f),
    info: (m, f) => send('info', m, f),
    warn: (m, f) => send('warn', m, f),
    error: (m, f) => send('error', m, f),
    child: () => logger,
  };
  return logger;
}

/** How often the thread reports its metrics besides after each risk round. */
const metricsEveryMs = 1_000;

async function runThread(port: NonNullable<typeof parentPort>, data: ThreadData): Promise<void> {
  const logger = forwardingLogger(port);
  const orm = await openOrm(data.databaseUrl, { poolMax: threadPoolMax, applicationName: 'hub-workers' });
  const report = workerMetricReporter();
  const sendMetrics = async () => {
    const r = await report();
    if (r.length > 0) port.postMessage({ type: 'metrics', report: r } satisfies FromThread);
  };
  // On their own thread the workers may take half of it: with a quarter, at 1,500 events/s on a growing store the
  // risk rounds fell behind and grew from ~0.2 s to 1–2 s (each had to cover four times its own length of ingest),
  // and a long round is a long stall for ingest's transactions beside it in the database.
  const workers = startBackgroundWorkers(
    orm,
    data.settings,
    logger,
    () => {
      port.postMessage({ type: 'round' } satisfies FromThread);
      void sendMetrics().then(maybeExitWorkersThread);
    },
    threadBusyFactor,
  );
  const metricsTimer = setInterval(() => void sendMetrics(), metricsEveryMs);
  port.on('message', (m: ToThread) => {
    if (m.type === 'wake') workers.wake(m.waiting);
    else if (m.type === 'stop')
      void (async () => {
        clearInterval(metricsTimer);
        await workers.stop();
        await sendMetrics();
        if (!(await closeWithin(orm, poolCloseMs)))
          logger.warn('the workers database pool did not close within 10 s (a connection is still checked out)');
        port.postMessage({ type: 'stopped' } satisfies FromThread);
        port.close();
      })();
  });
  port.postMessage({ type: 'ready' } satisfies FromThread);
}

if (!isMainThread && parentPort && (workerData as ThreadData | null)?.role === 'hub-background-workers')
  await runThread(parentPort, workerData as ThreadData);
