import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { answered } from './graphql-documents.ts';

/**
 * The even-paced load of bench:graphql and bench:scale, in a worker thread of its own. The bench's main thread
 * holds what it generated (at a million customers, the whole population: gigabytes of heap), and its collector
 * paused for 12–40 ms at a time while it sent requests (traced: a 40 ms mark-compact of the bench process at the
 * moment a dozen phone searches took 40–56 ms, the server's event loop and collector quiet meanwhile) — the
 * client's pauses were charged to the server as latency. In a worker the load has a heap of its own, holding only
 * the request bodies. Same process, so its CPU is not the server's and does not count in the server's figure.
 */
type Target = { url: string; headers: Record<string, string> };
type PacedJob = { id: number; target: Target; bodies: string[]; opts: { rate: number; duration: number } };
export type PacedResult = { sent: number; p50: number; p99: number; failed: number };

/**
 * One worker for all of a bench's passes, so that a warm-up pass also warms the client code the measured pass
 * runs. It holds the process open only while a pass runs.
 */
let loader: {
  worker: Worker;
  waiting: Map<number, { resolve(r: PacedResult): void; reject(e: unknown): void }>;
} | null = null;
let jobs = 0;

export function paced(
  target: Target,
  bodies: string[],
  opts: { rate: number; duration: number },
): Promise<PacedResult> {
  if (loader === null) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { pacedLoad: true } });
    const waiting = new Map<number, { resolve(r: PacedResult): void; reject(e: unknown): void }>();
    const failAll = (e: unknown) => {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
      loader = null;
    };
    worker.on('message', ({ id, result }: { id: number; result: PacedResult }) => {
      waiting.get(id)?.resolve(result);
      waiting.delete(id);
      if (waiting.size === 0) worker.unref();
    });
    worker.once('error', failAll);
    worker.once('exit', (code) => failAll(new Error(`the paced load's worker exited with ${code}`)));
    loader = { worker, waiting };
  }
  const { worker, waiting } = loader;
  jobs += 1;
  const job: PacedJob = { id: jobs, target: { url: target.url, headers: target.headers }, bodies, opts };
  return new Promise((resolve, reject) => {
    waiting.set(job.id, { resolve, reject });
    worker.ref();
    worker.postMessage(job);
  });
}

if (!isMainThread && parentPort && (workerData as { pacedLoad?: boolean } | null)?.pacedLoad) {
  const port = parentPort;
  port.on('message', async (job: PacedJob) => {
    port.postMessage({ id: job.id, result: await pacedHere(job.target, job.bodies, job.opts) });
  });
}

/**
 * An open-loop load at an even pace: request i is due at start + i/rate, sent then on a keep-alive socket
 * (as many as needed), and its latency counts from when it was due — so a server that falls behind is charged
 * for the wait (no coordinated omission). Exact percentiles, not whole ms.
 */
async function pacedHere(
  target: Target,
  bodies: string[],
  opts: { rate: number; duration: number },
): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(target.url);
  const total = Math.round(opts.rate * opts.duration);
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now() + 50;
  const one = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const body = bodies[i % bodies.length] ?? '';
      const req = request(
        url,
        { method: 'POST', agent, headers: { ...target.headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => {
            if (res.statusCode === 200 && answered(text)) latencies.push(performance.now() - due);
            else failed += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed += 1;
        resolve();
      });
      req.end(body);
    });
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(one(i, due));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { sent: total / Math.max(elapsed, opts.duration), p50: at(0.5), p99: at(0.99), failed };
}
