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
export type Measured = { closed: Run; paced: Run };

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
    serverCpuMs: ((after.server - before.server) * 1000) / n,
    postgresCpuMs: ((after.postgres - before.postgres) * 1000) / n,
  };
}

/**
 * CPU seconds (user + system) of one process and of the PostgreSQL backends connected to one database (their
 * command line names it: "postgres: user database host(port) state"), from /proc (Linux). Other databases on
 * the same server are left out.
 */
function cpu(pid: number, database: string): { server: number; postgres: number } {
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
  let postgres = 0;
  let dirs: string[] = [];
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { server: 0, postgres: 0 };
  }
  for (const d of dirs) {
    const stat = read(`/proc/${d}/stat`);
    if (!stat?.includes(' (postgres) ')) continue;
    const cmdline = read(`/proc/${d}/cmdline`) ?? '';
    if (cmdline.split(' ').includes(database)) postgres += ticks(stat);
  }
  const own = read(`/proc/${pid}/stat`);
  return { server: own ? ticks(own) : 0, postgres };
}

export function report(
  results: Map<string, Measured>,
  settings: { connections: number; seconds: number; warmup: number; rate: number; rateSeconds: number },
): string[] {
  const { rate } = settings;
  const f = (n: number, d = 0, w = 8) => n.toFixed(d).padStart(w);
  const out = [
    '',
    `${'operation'.padEnd(13)}${'server'.padEnd(14)}${'req/s'.padStart(7)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}` +
      `${'CPU ms/req'.padStart(11)}${'PG CPU'.padStart(8)}  |${`at ${rate}/s: sent/s`.padStart(18)}${'p50 ms'.padStart(8)}` +
      `${'p99 ms'.padStart(8)}  |${'bytes/resp'.padStart(11)}${'failed'.padStart(7)}`,
  ];
  const verdicts: string[] = [];
  for (const op of ['customer360', 'findByPhone'] as const) {
    for (const server of ['hub', 'postgraphile'] as const) {
      const m = results.get(`${server} ${op}`);
      if (!m) continue;
      const c = m.closed;
      out.push(
        `${op.padEnd(13)}${server.padEnd(14)}${f(c.rps, 0, 7)}${f(c.p50)}${f(c.p99)}${f(c.serverCpuMs, 2, 11)}` +
          `${f(c.postgresCpuMs, 2)}  |${f(m.paced.rps, 1, 18)}${f(m.paced.p50)}${f(m.paced.p99)}  |` +
          `${f(c.bytes, 0, 11)}${f(c.failed + m.paced.failed, 0, 7)}`,
      );
    }
    const hub = results.get(`hub ${op}`);
    const pgl = results.get(`postgraphile ${op}`);
    if (!hub || !pgl) continue;
    const ratio = hub.closed.rps / pgl.closed.rps;
    out.push(
      `${''.padEnd(13)}${'hub/PG ratio'.padEnd(14)}${f(ratio, 2, 7)}${f(hub.closed.p50 / pgl.closed.p50, 2)}` +
        `${f(hub.closed.p99 / pgl.closed.p99, 2)}${f(hub.closed.serverCpuMs / pgl.closed.serverCpuMs, 2, 11)}` +
        `${f(hub.closed.postgresCpuMs / pgl.closed.postgresCpuMs, 2)}  |${f(hub.paced.rps / pgl.paced.rps, 2, 18)}` +
        `${f(hub.paced.p50 / pgl.paced.p50, 2)}${f(hub.paced.p99 / pgl.paced.p99, 2)}`,
    );
    const reached = hub.paced.rps >= rate * 0.95 ? '' : `, only ${hub.paced.rps.toFixed(0)}/s sent: saturated`;
    verdicts.push(
      `${op}: hub/PostGraphile throughput ${ratio.toFixed(2)} (target ≥ 1.0: ${ratio >= 1 ? 'met' : 'not met'}); ` +
        `hub p99 at ${rate}/s ${hub.paced.p99} ms${reached} (target < 20 ms: ${hub.paced.p99 < 20 ? 'met' : 'not met'})`,
    );
  }
  out.push(
    '',
    `closed loop: ${settings.connections} connections for ${settings.seconds} s after a ${settings.warmup} s warm-up ` +
      '(CPU ms/req: the server process; PG CPU: the PostgreSQL backends of the database). Paced: autocannon overallRate ' +
      `${rate}/s over ${settings.connections} connections for ${settings.rateSeconds} s — autocannon sends each ` +
      "connection's share of a second back to back at the start of the second, so arrivals come in bursts. " +
      'Latencies in whole ms.',
    ...verdicts,
  );
  return out;
}
