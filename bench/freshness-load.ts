import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { createKafka } from '../src/messaging/kafka.ts';
import type { DemoMessage } from '../src/demo/generate-core-policy.ts';

/**
 * bench:ingest's freshness load (bench/ingest.bench.ts part 3) in a worker thread of its own: traffic published
 * at a fixed rate, and a probe every 100 ms — a new app registration with a unique phone number, timed from
 * publish to found by phone through the hub's GraphQL. The hub runs in the bench's main thread (as in the
 * throughput part); the load generator and the probes' HTTP clients used to share its event loop, so every
 * producer batch and probe response delayed the hub's own work. In a worker they have their own thread (the
 * same process: its CPU is still counted in the bench process's figure).
 */
export type FreshnessLoad = {
  url: string;
  token: string;
  brokers: string[];
  databaseUrl: string;
  groupId: string;
  phase: number;
  prefix: string;
  load: DemoMessage[];
  perSecond: number;
  durationSeconds: number;
};

/** Every probe's latency (ms), of which until its position had committed (ms), and when it was sent (epoch ms, to
 * line slow probes up with the hub's debug log), the events sent and the time taken. */
export type FreshnessResult = {
  latencies: number[];
  committed: number[];
  sentAt: number[];
  sent: number;
  seconds: number;
};

/** Runs the load in a worker thread. */
export function runFreshnessLoad(load: FreshnessLoad): Promise<FreshnessResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: load });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the freshness load's worker exited with ${code}`));
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const result = await freshness(workerData as FreshnessLoad);
  port.postMessage(result);
}

async function freshness({
  url,
  token,
  brokers,
  databaseUrl,
  groupId,
  phase,
  prefix,
  load,
  perSecond,
  durationSeconds,
}: FreshnessLoad): Promise<FreshnessResult> {
  const kafka = createKafka(brokers, 'bench-ingest-load');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const probeTopic = `${prefix}app.customer-events.v1`;
  // The producer learns a topic's partitions and leaders on its first send to it: done here, before the clock
  // starts, or the first ticks' sends wait for metadata and the load arrives late and then in a burst (the
  // ticks are due at fixed times) — a start of the phase measuring the load generator, not the hub.
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...new Set([...load.map((m) => m.topic), probeTopic])].map((topic) => ({ topic, messages: [] })),
  });
  const applied = watchPositions(pool, groupId, probeTopic);
  const latencies: number[] = [];
  const committed: number[] = [];
  const sentAtWall: number[] = [];
  const pending: Promise<void>[] = [];
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const started = performance.now();
  let sent = 0;
  let probes = 0;
  try {
    for (let tick = 0; performance.now() - started < durationSeconds * 1000; tick += 1) {
      const due = started + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch = load.slice(sent % load.length, (sent % load.length) + perTick);
      sent += batch.length;
      const byTopic = new Map<string, { key: string | null; value: string | null }[]>();
      for (const m of batch) byTopic.set(m.topic, (byTopic.get(m.topic) ?? []).concat({ key: m.key, value: m.value }));
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      if (tick % 2 === 0) {
        // A probe every 100 ms: a new customer only findable once ingested, matched and committed.
        probes += 1;
        const mobile = `19${phase % 10}${String(10_000_000 + probes).padStart(8, '0')}`;
        const userId = `APP-PROBE-${prefix}${phase}-${probes}`;
        const value = JSON.stringify({
          eventId: `W-${userId}`,
          type: 'REGISTERED',
          at: new Date().toISOString(),
          userId,
          mobile,
          email: null,
          name: `探针${probes}`,
          idNumber: null,
          consent: null,
        });
        const sentAt = performance.now();
        const wall = Date.now();
        const [meta] = await producer.send({ topic: probeTopic, acks: -1, messages: [{ key: userId, value }] });
        if (!meta?.baseOffset) throw new Error('the broker did not say where the probe went');
        const { partition } = meta;
        const offset = BigInt(meta.baseOffset);
        pending.push(
          (async () => {
            await applied.until(partition, offset);
            const committedAt = performance.now();
            const at = await waitVisible(url, token, mobile);
            latencies.push(at - sentAt);
            committed.push(committedAt - sentAt);
            sentAtWall.push(wall);
          })(),
        );
      }
    }
    await Promise.all(pending);
  } finally {
    await applied.stop();
    await producer.disconnect();
    await pool.end();
  }
  return { latencies, committed, sentAt: sentAtWall, sent, seconds: (performance.now() - started) / 1000 };
}

/**
 * The probes' gate: resolves once the hub's stored position of the probe's partition has passed the probe's offset,
 * i.e. the transaction that applied it has committed (positions commit with the effects) — one query every 5 ms for
 * all the probes in flight. Only then does a probe ask GraphQL (and keeps asking until the customer is found).
 * Polling GraphQL alone, each probe in flight every 25 ms, was itself a few hundred searches a second on the hub
 * being measured — at 1,500 events/s, with probes waiting ~1 s, most of a core of the machine.
 */
function watchPositions(pool: pg.Pool, groupId: string, topic: string) {
  const waiting: { partition: number; offset: bigint; resolve: () => void }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (waiting.length > 0) {
        const { rows } = await pool.query<{ partition: number; next_offset: string }>(
          'select partition, next_offset::text from consumer_offset where consumer_group = $1 and topic = $2',
          [groupId, topic],
        );
        const next = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
        for (let i = waiting.length - 1; i >= 0; i -= 1) {
          const w = waiting[i] as (typeof waiting)[number];
          if ((next.get(w.partition) ?? -1n) > w.offset) {
            waiting.splice(i, 1);
            w.resolve();
          }
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    until: (partition: number, offset: bigint) =>
      new Promise<void>((resolve) => waiting.push({ partition, offset, resolve })),
    stop: () => {
      stopped = true;
      return loop;
    },
  };
}

async function waitVisible(url: string, token: string, phone: string): Promise<number> {
  const query = `query($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node { id } } } }`;
  const started = performance.now();
  for (;;) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables: { phone } }),
    });
    const body = (await res.json()) as { data?: { searchCustomers: { edges: unknown[] } }; errors?: unknown[] };
    if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    if ((body.data?.searchCustomers.edges.length ?? 0) > 0) return performance.now();
    // Asked only once the probe's position has committed (watchPositions), so this rarely loops; if it does,
    // fine-grained while it matters for the target, coarser after, so that waiting probes do not load the hub.
    const waited = performance.now() - started;
    await new Promise((r) => setTimeout(r, waited < 600 ? 25 : waited < 5_000 ? 100 : 500));
  }
}
