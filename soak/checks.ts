import pg from 'pg';
import type { StreamMessage } from './traffic.ts';

/**
 * What the soak judges after the group has drained: the activity keys the sent messages must have produced (one
 * row each: lost or doubled rows show as a count that differs), the quarantine (only the deliberately unreadable
 * messages, once each), the stored positions (exactly the topics' end offsets), fingerprints side by side, and
 * the survivor's memory.
 */
const json = (v: string | null): Record<string, unknown> | null => {
  if (v === null) return null;
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch {
    return null;
  }
};

/** (kind, source key) of every activity the sent messages carry, per kind (from the messages, not the store). */
export function expectedActivities(sent: readonly StreamMessage[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (kind: string, key: unknown) => {
    if (typeof key !== 'string' || key === '') return;
    let set = out.get(kind);
    if (!set) out.set(kind, (set = new Set()));
    set.add(key);
  };
  for (const m of sent) {
    if (m.bad) continue;
    const v = json(m.value);
    if (!v) continue;
    if (m.topic === 'billing.payments.v1') add('PAYMENT', v.paymentId);
    else if (m.topic === 'contact.interactions.v1') add('INTERACTION', v.interactionId);
    else if (m.topic === 'agency.leads.v1') add('LEAD', v.leadId);
    else if (m.topic === 'claims.public.claim')
      add('CLAIM', ((v.after ?? v.before) as Record<string, unknown> | null)?.claim_id);
    else if (m.topic === 'app.customer-events.v1') {
      if (v.type === 'REGISTERED') add('REGISTRATION', v.userId);
      const c = v.consent as Record<string, unknown> | null | undefined;
      if (c) add('CONSENT', `${String(v.userId)}:${String(c.purpose)}:${String(c.channel)}`);
    }
  }
  return out;
}

export type Finding = { check: string; ok: boolean; detail: string };

export async function storeChecks(
  url: string,
  sent: readonly StreamMessage[],
  ends: Map<string, bigint>,
): Promise<Finding[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const findings: Finding[] = [];
  try {
    const expected = expectedActivities(sent);
    const { rows } = await c.query<{ kind: string; n: number; keys: number }>(
      `select kind, count(*)::int as n, count(distinct source_key)::int as keys from activity group by kind order by kind`,
    );
    const stored = new Map(rows.map((r) => [r.kind, r]));
    for (const [kind, keys] of [...expected].sort(([a], [b]) => a.localeCompare(b))) {
      const row = stored.get(kind);
      findings.push({
        check: `activity ${kind}`,
        ok: row?.n === keys.size && row.keys === keys.size,
        detail: `${keys.size} distinct keys sent, ${row?.n ?? 0} rows stored (${row?.keys ?? 0} distinct)`,
      });
    }
    // Activities of kinds the soak does not count (e.g. none today): any row must still be one per key.
    const dup = await c.query<{ n: number }>(
      `select count(*)::int as n from (select 1 from activity group by kind, system, source_key having count(*) > 1) d`,
    );
    findings.push({
      check: 'activity one row per key',
      ok: dup.rows[0]?.n === 0,
      detail: `${dup.rows[0]?.n} keys twice`,
    });

    const bad = sent.filter((m) => m.bad).length;
    const q = await c.query<{ n: number; distinct_pos: number; deliberate: number }>(
      `select count(*)::int as n, count(distinct (topic, partition, "offset"))::int as distinct_pos,
              count(*) filter (where message_key like 'BAD-%')::int as deliberate from quarantined_event`,
    );
    const qr = q.rows[0];
    findings.push({
      check: 'quarantine',
      ok: qr?.n === bad && qr.deliberate === bad && qr.distinct_pos === bad,
      detail: `${bad} unreadable messages sent, ${qr?.n} quarantined (${qr?.deliberate} of them the unreadable ones)`,
    });

    const positions = await c.query<{ topic: string; partition: number; next_offset: string }>(
      `select topic, partition, next_offset::text as next_offset from consumer_offset`,
    );
    const stored2 = new Map(positions.rows.map((r) => [`${r.topic}/${r.partition}`, BigInt(r.next_offset)]));
    const off = [...ends].filter(([k, end]) => stored2.get(k) !== end);
    const extra = [...stored2.keys()].filter((k) => !ends.has(k));
    findings.push({
      check: 'positions = end offsets',
      ok: off.length === 0 && extra.length === 0,
      detail: `${ends.size} partitions; ${off.length} differ${
        off.length
          ? ` (${off
              .slice(0, 5)
              .map(([k, e]) => `${k}: stored ${stored2.get(k) ?? 'none'}, end ${e}`)
              .join('; ')})`
          : ''
      }; ${extra.length} stored beyond the topics`,
    });
  } finally {
    await c.end();
  }
  return findings;
}

/** Deadlocks PostgreSQL counted in a database (pg_stat_database). */
export async function deadlocks(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const name = new URL(url).pathname.slice(1);
    return Number(
      (await c.query(`select deadlocks from pg_stat_database where datname = $1`, [name])).rows[0]?.deadlocks ?? 0,
    );
  } finally {
    await c.end();
  }
}

/** Fingerprints compared part by part: rows on each side and rows only on one side. */
export function compareFingerprints(soak: Record<string, unknown[]>, reference: Record<string, unknown[]>): Finding[] {
  return Object.keys(reference).map((part) => {
    const a = (soak[part] ?? []).map((r) => JSON.stringify(r));
    const b = (reference[part] ?? []).map((r) => JSON.stringify(r));
    const inB = new Set(b);
    const inA = new Set(a);
    const onlySoak = a.filter((r) => !inB.has(r)).length;
    const onlyRef = b.filter((r) => !inA.has(r)).length;
    const ok = a.length === b.length && onlySoak === 0 && onlyRef === 0;
    return {
      check: `fingerprint ${part}`,
      ok,
      detail: `${a.length} rows, reference ${b.length}${ok ? '' : `; ${onlySoak} only in the soak store, ${onlyRef} only in the reference`}`,
    };
  });
}

const mb = (bytes: number) => bytes / 1024 / 1024;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};

/**
 * The survivor's memory: per minute min / median / max RSS, and a least-squares line over the second half of
 * the load (phase B: three instances, a steady state after phase A's warm-up). Flat means the line grows by at
 * most `maxPercent` of its value at the start of that half and at most `maxMb`.
 */
export function memoryVerdict(
  samples: { t: number; bytes: number }[],
  window: { from: number; to: number },
  rule: { maxPercent: number; maxMb: number },
): { table: string[]; finding: Finding } {
  const start = samples[0]?.t ?? window.from;
  const table: string[] = ['  minute   min MB   median MB   max MB   samples'];
  const byMinute = new Map<number, number[]>();
  for (const s of samples) {
    const m = Math.floor((s.t - start) / 60_000);
    byMinute.set(m, [...(byMinute.get(m) ?? []), mb(s.bytes)]);
  }
  for (const [m, xs] of byMinute)
    table.push(
      `  ${String(m + 1).padStart(6)}   ${Math.min(...xs)
        .toFixed(0)
        .padStart(6)}   ${median(xs).toFixed(0).padStart(9)}   ${Math.max(...xs)
        .toFixed(0)
        .padStart(6)}   ${String(xs.length).padStart(7)}`,
    );
  const half = samples.filter((s) => s.t >= window.from && s.t <= window.to);
  if (half.length < 5)
    return { table, finding: { check: 'memory flat', ok: false, detail: `only ${half.length} samples in the window` } };
  const xs = half.map((s) => (s.t - window.from) / 60_000);
  const ys = half.map((s) => mb(s.bytes));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope =
    xs.reduce((a, x, i) => a + (x - mx) * ((ys[i] as number) - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const minutes = (window.to - window.from) / 60_000;
  const startValue = my - slope * mx;
  const growth = slope * minutes;
  const percent = (growth / startValue) * 100;
  const ok = growth <= rule.maxMb && percent <= rule.maxPercent;
  return {
    table,
    finding: {
      check: 'memory flat (survivor)',
      ok,
      detail: `linear fit over the second half (${minutes.toFixed(1)} min, ${half.length} samples): ${slope.toFixed(2)} MB/min, ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB (${percent >= 0 ? '+' : ''}${percent.toFixed(1)} %) from ${startValue.toFixed(0)} MB; rule: fail above +${rule.maxPercent} % or +${rule.maxMb} MB`,
    },
  };
}

/** Least-squares slope (per minute) and the line's value at the window's start, of points (minutes, value). */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; start: number } {
  const mx = points.reduce((a, p) => a + p.x, 0) / points.length;
  const my = points.reduce((a, p) => a + p.y, 0) / points.length;
  const slope =
    points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return { slope, start: my - slope * mx };
}

/**
 * The survivor's heap as the hub reports it, per minute: the smallest heap used of the minute's samples (about
 * the live heap after a collection: the garbage collector runs many times a minute under load), the largest,
 * the heap V8 reserved (total), external memory (Buffers) and the size of the /metrics text. Fitted over the
 * window on the per-minute minima: growth there is live data kept, not garbage not yet collected.
 */
export function heapReport(
  samples: readonly { t: number; used: number; total: number; external: number; metricsBytes: number }[],
  window: { from: number; to: number },
  startedAt: number,
): { table: string[]; detail: string; growthMb: number | null } {
  const table = ['  minute   heap used min–max MB   heap total MB   external MB   /metrics KB'];
  const byMinute = new Map<number, (typeof samples)[number][]>();
  for (const s of samples) {
    const m = Math.floor((s.t - startedAt) / 60_000);
    byMinute.set(m, [...(byMinute.get(m) ?? []), s]);
  }
  const minima: { x: number; y: number }[] = [];
  for (const [m, xs] of byMinute) {
    const used = xs.map((s) => mb(s.used));
    table.push(
      `  ${String(m + 1).padStart(6)}   ${`${Math.min(...used).toFixed(0)}–${Math.max(...used).toFixed(0)}`.padStart(20)}   ${median(
        xs.map((s) => mb(s.total)),
      )
        .toFixed(0)
        .padStart(13)}   ${median(xs.map((s) => mb(s.external)))
        .toFixed(0)
        .padStart(11)}   ${(median(xs.map((s) => s.metricsBytes)) / 1024).toFixed(0).padStart(11)}`,
    );
    const inWindow = xs.filter((s) => s.t >= window.from && s.t <= window.to);
    if (inWindow.length >= 3)
      minima.push({
        x: (startedAt + m * 60_000 - window.from) / 60_000,
        y: Math.min(...inWindow.map((s) => mb(s.used))),
      });
  }
  if (minima.length < 3)
    return { table, detail: `only ${minima.length} minutes with samples in the window`, growthMb: null };
  const fit = linearFit(minima);
  const minutes = (window.to - window.from) / 60_000;
  const growth = fit.slope * minutes;
  return {
    table,
    detail: `per-minute minimum heap used over the second half (${minima.length} minutes): ${fit.slope.toFixed(2)} MB/min, ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB from ${fit.start.toFixed(0)} MB`,
    growthMb: growth,
  };
}
