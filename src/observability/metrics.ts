import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of the ingest pipeline (served at /metrics): events by outcome per connector, apply
 * latency, consumer lag per partition, source-time lag (how old the newest applied change was when it was
 * applied), quarantine and dead-letter counts, and transient-failure retries.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hub_' });

export const eventsTotal = new Counter({
  name: 'hub_events_total',
  help: 'Source messages processed, by connector and outcome',
  labelNames: ['connector', 'outcome'] as const,
  registers: [registry],
});
export const applySeconds = new Histogram({
  name: 'hub_batch_apply_seconds',
  help: 'Time to apply one batch in one database transaction',
  labelNames: ['connector'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
/** Where a batch's time goes (party = identity resolution + survivorship, facts, risk = screening + alert rules). */
export const applyPhaseSeconds = new Counter({
  name: 'hub_apply_phase_seconds_total',
  help: 'Time spent applying batches, by phase of the sync step',
  labelNames: ['phase'] as const,
  registers: [registry],
});
export const consumerLag = new Gauge({
  name: 'hub_consumer_lag_messages',
  help: 'High watermark minus the next offset to consume, per partition',
  labelNames: ['topic', 'partition'] as const,
  registers: [registry],
});
export const sourceTimeLag = new Gauge({
  name: 'hub_source_time_lag_seconds',
  help: 'Now minus the source time of the newest change applied, per connector',
  labelNames: ['connector'] as const,
  registers: [registry],
});
export const quarantinedTotal = new Counter({
  name: 'hub_quarantined_total',
  help: 'Messages quarantined, by connector and error code',
  labelNames: ['connector', 'code'] as const,
  registers: [registry],
});
export const dlqPublishedTotal = new Counter({
  name: 'hub_dlq_published_total',
  help: 'Quarantined messages published to their dead-letter topic',
  labelNames: ['topic'] as const,
  registers: [registry],
});
export const ingestTransactionsTotal = new Counter({
  name: 'hub_ingest_transactions_total',
  help: "Ingest transactions committed (each one or more partitions' messages with their positions; a group over HUB_INGEST_MAX_KEY_LOCKS takes several)",
  registers: [registry],
});
export const retriesTotal = new Counter({
  name: 'hub_transient_retries_total',
  help: 'Batch retries after a transient failure, by cause (deadlock, serialization, connection, timeout, resources, other)',
  labelNames: ['connector', 'cause'] as const,
  registers: [registry],
});
export const riskQueueAge = new Gauge({
  name: 'hub_risk_queue_age_seconds',
  help: 'How long the oldest due risk follow-up has waited (how far risk flags trail ingest; a re-evaluation queued for the end of an alert hold counts from when it falls due); 0 when none is due',
  registers: [registry],
});
export const riskSettledTotal = new Counter({
  name: 'hub_risk_work_settled_total',
  help: 'Queued risk follow-ups (one per ingest transaction) settled by the risk worker',
  registers: [registry],
});

export const riskRoundsTotal = new Counter({
  name: 'hub_risk_rounds_total',
  help: 'Risk-worker rounds that settled queued follow-ups (settled / rounds: ingest transactions per round, many while a backlog is applied and rounds are put off)',
  registers: [registry],
});

/** The SQLSTATE (or Node's error code) of an error from the driver, however MikroORM or Kysely wrapped it. */
export function sqlStateOf(e: unknown): string {
  const err = e as { code?: unknown; sqlState?: unknown; cause?: unknown } | null;
  return String(err?.sqlState ?? err?.code ?? (err?.cause as { code?: unknown } | undefined)?.code ?? '');
}

/**
 * Why a transaction failed, from PostgreSQL's SQLSTATE: deadlocks and serialization failures mean transactions
 * locked in conflicting orders; connection errors a database or network outage.
 */
export function retryCause(
  e: unknown,
): 'deadlock' | 'serialization' | 'connection' | 'timeout' | 'resources' | 'other' {
  const code = sqlStateOf(e);
  if (code === '40P01') return 'deadlock';
  if (code === '40001') return 'serialization';
  if (code === '57014' || code === '55P03') return 'timeout';
  // Insufficient resources: out of shared memory (the server's lock table full), disk full, too many connections.
  if (code.startsWith('53')) return 'resources';
  if (
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET'
  )
    return 'connection';
  return 'other';
}

/**
 * The metrics the background workers (risk, programme) move. They may run on a thread of their own
 * (src/runtime/background-workers.ts), whose registry is not the one `/metrics` serves: that thread reports what they
 * moved (`workerMetricReporter`) and the main thread adds it here (`applyWorkerMetrics`).
 */
const workerMetrics: Record<string, Counter<string> | Gauge<string>> = {
  hub_apply_phase_seconds_total: applyPhaseSeconds,
  hub_risk_work_settled_total: riskSettledTotal,
  hub_risk_rounds_total: riskRoundsTotal,
  hub_risk_queue_age_seconds: riskQueueAge,
};

/** Counters: the increase since the last report; gauges: the value. */
export type WorkerMetricReport = { name: string; labels: Record<string, string | number>; value: number }[];

/** On the workers' thread: what its workers' metrics moved since the previous call. */
export function workerMetricReporter(): () => Promise<WorkerMetricReport> {
  const reported = new Map<string, number>();
  return async () => {
    const report: WorkerMetricReport = [];
    for (const metric of Object.values(workerMetrics)) {
      const counter = metric instanceof Counter;
      const { name, values } = await metric.get();
      for (const v of values) {
        const key = `${name}${JSON.stringify(v.labels)}`;
        const value = counter ? v.value - (reported.get(key) ?? 0) : v.value;
        reported.set(key, v.value);
        const labels: Record<string, string | number> = {};
        for (const [k, l] of Object.entries(v.labels)) if (l !== undefined) labels[k] = l;
        if (!counter || value !== 0) report.push({ name, labels, value });
      }
    }
    return report;
  };
}

/** On the main thread: adds a report of the workers' thread to the registry `/metrics` serves. */
export function applyWorkerMetrics(report: WorkerMetricReport): void {
  for (const { name, labels, value } of report) {
    const metric = workerMetrics[name];
    if (metric instanceof Counter) metric.inc(labels, value);
    else metric?.set(labels, value);
  }
}
