import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { startHubAsUsersDo, type UserHubProcess } from '../tests/support/hub-process.ts';

/**
 * Hub instances as users run them (`npm run hub -- start`, tests/support/hub-process.ts), with what the soak
 * needs to judge them: the node process behind npm (its RSS from /proc, the target of a crash), the transient
 * retries it counted (`hub_transient_retries_total` on /metrics, read just before it is stopped), how it ended.
 */
export type Instance = {
  name: string;
  survivor: boolean;
  hub: UserHubProcess;
  nodePid: number | null;
  metricsUrl: string | null;
  startedAt: number;
  upMs: number | null;
  stoppedAt: number | null;
  ended: 'SIGTERM' | 'SIGKILL' | 'end' | null;
  stopMs: number | null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  rss: { t: number; bytes: number }[];
  /** V8 heap, external memory and the /metrics text's size, read from /metrics (the survivor only). */
  heap: { t: number; used: number; total: number; external: number; metricsBytes: number }[];
  retries: Record<string, number>;
  /** The last hub_events_total per outcome read from /metrics. */
  events: Record<string, number>;
  /** Resolves once the hub printed its address (consuming has started); rejects if it exited before. */
  up: Promise<void>;
  /** Lines it logged at level error (kafkajs's expected rebalance noise is logged as warnings). */
  errors: number;
};

/** The node process npm runs the hub in (`exec node src/cli/hub.ts`): npm's descendant running src/cli/hub.ts. */
function hubPidUnder(pid: number, depth = 0): number | null {
  if (depth > 3) return null;
  let children: number[] = [];
  try {
    children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return null;
  }
  for (const child of children) {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('src/cli/hub.ts')) return child;
    } catch {}
    const below = hubPidUnder(child, depth + 1);
    if (below !== null) return below;
  }
  return null;
}

export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Launches an instance; `up` settles when it is up. */
export function launchInstance(
  name: string,
  env: Record<string, string>,
  opts: { survivor?: boolean; logFile: string },
): Instance {
  const hub = startHubAsUsersDo(['run', 'hub', '--', 'start'], env);
  const tag = (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (!line.trim()) continue;
      appendFileSync(opts.logFile, `${name} ${line}\n`);
      if (line.includes('"level":"error"')) instance.errors += 1;
    }
  };
  hub.child.stdout?.on('data', tag);
  hub.child.stderr?.on('data', tag);
  const instance: Instance = {
    name,
    survivor: opts.survivor ?? false,
    hub,
    nodePid: null,
    metricsUrl: null,
    startedAt: Date.now(),
    upMs: null,
    stoppedAt: null,
    ended: null,
    stopMs: null,
    exit: null,
    rss: [],
    heap: [],
    retries: {},
    events: {},
    errors: 0,
    up: hub.url.then((url) => {
      instance.upMs = Date.now() - instance.startedAt;
      instance.metricsUrl = url.replace('localhost', '127.0.0.1').replace(/\/graphql$/, '/metrics');
      instance.nodePid = hubPidUnder(hub.child.pid as number);
    }),
  };
  instance.up.catch(() => {});
  void hub.exited.then((exit) => {
    instance.exit = exit;
    instance.stoppedAt ??= Date.now();
  });
  return instance;
}

/** Reads retries by cause and events by outcome from /metrics (kept from the last successful read). */
export async function readMetrics(i: Instance): Promise<void> {
  if (!i.metricsUrl) return;
  try {
    const text = await (await fetch(i.metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
    const retries: Record<string, number> = {};
    const events: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const retry = /^hub_transient_retries_total\{[^}]*cause="([^"]+)"[^}]*\} (\S+)/.exec(line);
      if (retry) retries[retry[1] as string] = (retries[retry[1] as string] ?? 0) + Number(retry[2]);
      const event = /^hub_events_total\{[^}]*outcome="([^"]+)"[^}]*\} (\S+)/.exec(line);
      if (event) events[event[1] as string] = (events[event[1] as string] ?? 0) + Number(event[2]);
    }
    i.retries = retries;
    i.events = events;
  } catch {
    // the instance is busy or going away: keep the last reading
  }
}

export function sampleRss(i: Instance, t: number): void {
  if (i.nodePid === null || i.stoppedAt !== null) return;
  const bytes = rssBytes(i.nodePid);
  if (bytes !== null) i.rss.push({ t, bytes });
}

/**
 * Stops an instance: SIGTERM to npm (as an orchestrator signals a container's first process; npm hands it to
 * node) and waits for the exit, or SIGKILL to the node process itself (a crash: nothing of the hub runs after it).
 */
export async function stopInstance(i: Instance, how: 'SIGTERM' | 'SIGKILL' | 'end'): Promise<void> {
  await readMetrics(i);
  const started = Date.now();
  i.ended = how;
  const nodePid = i.nodePid ?? hubPidUnder(i.hub.child.pid as number);
  if (how === 'SIGKILL' && nodePid !== null) process.kill(nodePid, 'SIGKILL');
  else if (how === 'SIGKILL') i.hub.child.kill('SIGKILL');
  else i.hub.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref());
  if ((await Promise.race([i.hub.exited, timeout])) === 'timeout') {
    // A hang on shutdown is a finding: report it, then make sure nothing is left behind.
    i.stopMs = -1;
    if (nodePid !== null) process.kill(nodePid, 'SIGKILL');
    i.hub.child.kill('SIGKILL');
    await i.hub.exited;
    return;
  }
  i.stoppedAt = Date.now();
  i.stopMs = i.stoppedAt - started;
}

/**
 * Reads the hub's own view of its memory from /metrics (prom-client's default process metrics): V8 heap used and
 * total, external memory (Buffers: kafkajs, pg), and how big the metrics text itself is (label sets that grow
 * without bound show there). RSS alone cannot tell a leak from a heap the garbage collector has not shrunk.
 */
export async function sampleHeap(i: Instance, t: number): Promise<void> {
  if (!i.metricsUrl || i.stoppedAt !== null) return;
  try {
    const text = await (await fetch(i.metricsUrl, { signal: AbortSignal.timeout(4_000) })).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    i.heap.push({
      t,
      used: value('hub_nodejs_heap_size_used_bytes'),
      total: value('hub_nodejs_heap_size_total_bytes'),
      external: value('hub_nodejs_external_memory_bytes'),
      metricsBytes: text.length,
    });
  } catch {
    // busy or going away: no sample
  }
}
