import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { answered } from './graphql-documents.ts';

/**
 * The load of the GraphQL benchmark (bench/graphql.bench.ts): autocannon runs against one server, the CPU the
 * server process and PostgreSQL used meanwhile (from /proc), and the side-by-side table.
 */
export type Target = { url: string; headers: Record<string, string>; pid: number; database: string };
export type Run = {
  rps: number;
  p50: number;
  p99: number;
  bytes: number;
  failed: number;
  /** CPU time per request: the server process, and the PostgreSQL backends serving the benchmark's database. */
  serverCpuMs: number;
  postgresCpuMs: number;
};
export type Smooth = { sent: number; p50: number; p99: number; failed: number };
export type Measured = { closed: Run; paced: Run; smooth: Smooth };

export async function load(
  target: Target,
  bodies: string[],
  opts: { connections: number; duration: number; overallRate?: number },
): Promise<Run> {
  let next = 0;
  const before = cpu(target.pid, target.database);
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: target.headers,
    connections: opts.connections,
    duration: opts.duration,
    ...(opts.overallRate
      ? // autocannon's coordinated-omission correction assumes a 1 ms interval at any rate; left off, latencies are
        // as measured (at 200/s each connection waits far longer between its requests than a response takes).
        { overallRate: opts.overallRate, ignoreCoordinatedOmission: true }
      : {}),
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
    verifyBody: (body) => typeof body === 'string' && answered(body),
  });
  const after = cpu(target.pid, target.database);
  const n = Math.max(1, result.requests.total);
  return {
    rps: result.requests.total / opts.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytes: result.throughput.total / n,
    failed: result.errors + result.timeouts + result.non2xx + result.mismatches,
    serverCpuMs: (cpuSpent(before, after).server * 1000) / n,
    postgresCpuMs: (cpuSpent(before, after).postgres * 1000) / n,
  };
}

/**
 * CPU seconds (user + system) of one process and of each PostgreSQL backend connected to one database (their
 * command line names it: "postgres: user database host(port) state"), from /proc (Linux). Other databases on the
 * same server are left out. Backends are kept apart by pid so that the time between two readings is summed over
 * the backends alive at the second one (`cpuSpent`): a pool closing an idle connection in between takes its
 * whole history out of a plain sum, which could make the difference negative.
 */
export function cpu(pid: number, database: string): { server: number; postgres: Map<string, number> } {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  };
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  };
  const postgres = new Map<string, number>();
  let dirs: string[] = [];
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { server: 0, postgres };
  }
  for (const d of dirs) {
    const stat = read(`/proc/${d}/stat`);
    if (!stat?.includes(' (postgres) ')) continue;
    const cmdline = read(`/proc/${d}/cmdline`) ?? '';
    if (cmdline.split(' ').includes(database)) postgres.set(d, ticks(stat));
  }
  const own = read(`/proc/${pid}/stat`);
  return { server: own ? ticks(own) : 0, postgres };
}

/** CPU seconds spent between two readings: the server process, and PostgreSQL over the backends alive at the end
 * (a backend that exited in between is not counted for that stretch: an undercount, never negative). */
export function cpuSpent(
  before: ReturnType<typeof cpu>,
  after: ReturnType<typeof cpu>,
): { server: number; postgres: number } {
  let postgres = 0;
  for (const [pid, t] of after.postgres) postgres += t - (before.postgres.get(pid) ?? 0);
  return { server: after.server - before.server, postgres };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** The median of each figure over the rounds (each figure on its own: a round's p99 is not tied to its rps). */
export function medianOf(rounds: Measured[]): Measured {
  const each = <T extends Record<string, number>>(pick: (m: Measured) => T): T => {
    const first = pick(rounds[0] as Measured);
    return Object.fromEntries(Object.keys(first).map((k) => [k, median(rounds.map((m) => pick(m)[k] ?? 0))])) as T;
  };
  return { closed: each((m) => m.closed), paced: each((m) => m.paced), smooth: each((m) => m.smooth) };
}

export function report(
  byRound: Map<string, Measured[]>,
  settings: { connections: number; seconds: number; warmup: number; rate: number; rateSeconds: number; rounds: number },
): string[] {
  const { rate } = settings;
  const results = new Map([...byRound].map(([k, v]) => [k, medianOf(v)]));
  const f = (n: number, d = 0, w = 8) => n.toFixed(d).padStart(w);
  const ops = ['customer360', 'findByPhone'] as const;
  const rows = (line: (m: Measured) => string, ratio: (hub: Measured, pgl: Measured) => string) =>
    ops.flatMap((op) => {
      const hub = results.get(`hub ${op}`);
      const pgl = results.get(`postgraphile ${op}`);
      return [
        ...(hub ? [`${op.padEnd(13)}${'hub'.padEnd(14)}${line(hub)}`] : []),
        ...(pgl ? [`${op.padEnd(13)}${'postgraphile'.padEnd(14)}${line(pgl)}`] : []),
        ...(hub && pgl ? [`${''.padEnd(13)}${'hub/PG ratio'.padEnd(14)}${ratio(hub, pgl)}`] : []),
      ];
    });
  const out = [
    '',
    `medians over ${settings.rounds} rounds (alternating which server goes first); throughput and even-pace p99 of every round:`,
    ...ops.flatMap((op) => {
      const hub = byRound.get(`hub ${op}`) ?? [];
      const pgl = byRound.get(`postgraphile ${op}`) ?? [];
      return [
        `  ${op.padEnd(12)} hub ${hub.map((m) => m.closed.rps.toFixed(0)).join(' / ')}; postgraphile ` +
          `${pgl.map((m) => m.closed.rps.toFixed(0)).join(' / ')}; ratio per round ` +
          `${hub.map((m, i) => (m.closed.rps / (pgl[i]?.closed.rps ?? Number.NaN)).toFixed(2)).join(' / ')}`,
        `  ${''.padEnd(12)} even-pace p99 ms: hub ${hub.map((m) => m.smooth.p99.toFixed(1)).join(' / ')}; postgraphile ` +
          `${pgl.map((m) => m.smooth.p99.toFixed(1)).join(' / ')}`,
      ];
    }),
    '',
    `closed loop, ${settings.connections} connections, ${settings.seconds} s after a ${settings.warmup} s warm-up ` +
      '(CPU ms/req: the server process; PG CPU: the PostgreSQL backends of the database, both servers connected):',
    `${'operation'.padEnd(13)}${'server'.padEnd(14)}${'req/s'.padStart(7)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}` +
      `${'CPU ms/req'.padStart(11)}${'PG CPU'.padStart(8)}${'bytes/resp'.padStart(11)}${'failed'.padStart(7)}`,
    ...rows(
      ({ closed: c }) =>
        `${f(c.rps, 0, 7)}${f(c.p50)}${f(c.p99)}${f(c.serverCpuMs, 2, 11)}${f(c.postgresCpuMs, 2)}` +
        `${f(c.bytes, 0, 11)}${f(c.failed, 0, 7)}`,
      (h, p) =>
        `${f(h.closed.rps / p.closed.rps, 2, 7)}${f(h.closed.p50 / p.closed.p50, 2)}${f(h.closed.p99 / p.closed.p99, 2)}` +
        `${f(h.closed.serverCpuMs / p.closed.serverCpuMs, 2, 11)}${f(h.closed.postgresCpuMs / p.closed.postgresCpuMs, 2)}`,
    ),
    '',
    `at ${rate} requests/s for ${settings.rateSeconds} s each: autocannon overallRate over ${settings.connections} ` +
      "connections (each connection's share of a second goes out back to back at the start of the second: bursts; " +
      'whole ms) and an even pace (one request every ' +
      `${(1000 / rate).toFixed(1)} ms, open loop, latency from when it was due):`,
    `${'operation'.padEnd(13)}${'server'.padEnd(14)}${'sent/s'.padStart(7)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}` +
      `  | even:${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'failed'.padStart(7)}`,
    ...rows(
      ({ paced: a, smooth: e }) =>
        `${f(a.rps, 0, 7)}${f(a.p50)}${f(a.p99)}  |      ${f(e.p50, 1)}${f(e.p99, 1)}${f(a.failed + e.failed, 0, 7)}`,
      (h, p) =>
        `${f(h.paced.rps / p.paced.rps, 2, 7)}${f(h.paced.p50 / p.paced.p50, 2)}${f(h.paced.p99 / p.paced.p99, 2)}  |      ` +
        `${f(h.smooth.p50 / p.smooth.p50, 2)}${f(h.smooth.p99 / p.smooth.p99, 2)}`,
    ),
    '',
  ];
  for (const op of ops) {
    const hub = results.get(`hub ${op}`);
    const pgl = results.get(`postgraphile ${op}`);
    if (!hub || !pgl) continue;
    // Two statistics of the throughput ratio: the medians' ratio, and the median of the rounds' own ratios (each
    // round measures both servers back to back, so its ratio is the paired one a drifting machine disturbs
    // least). The target counts as met only when both are at least 1.0.
    const ratio = hub.closed.rps / pgl.closed.rps;
    const hubRounds = byRound.get(`hub ${op}`) ?? [];
    const pglRounds = byRound.get(`postgraphile ${op}`) ?? [];
    const paired = median(hubRounds.map((m, i) => m.closed.rps / (pglRounds[i]?.closed.rps ?? Number.NaN)));
    const reached = hub.paced.rps >= rate * 0.95 ? '' : ` (autocannon got only ${hub.paced.rps.toFixed(0)}/s out)`;
    out.push(
      `${op}: hub/PostGraphile throughput ${ratio.toFixed(2)} (medians), ${paired.toFixed(2)} (median of the rounds' ` +
        `ratios) (target ≥ 1.0: ${ratio >= 1 && paired >= 1 ? 'met' : 'not met'}); ` +
        `hub p99 at ${rate}/s ${hub.smooth.p99.toFixed(1)} ms even, ${hub.paced.p99} ms autocannon${reached} ` +
        `(target < 20 ms: ${hub.smooth.p99 < 20 ? 'met' : 'not met'})`,
    );
  }
  return out;
}

export { paced } from './paced-load.ts';
