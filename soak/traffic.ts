import type { DemoMessage } from '../src/demo/generate-core-policy.ts';
import { generateChannelDemo } from '../src/demo/generate-channels.ts';
import { generateTraffic } from '../src/demo/generate-traffic.ts';
import { seeded } from '../src/demo/random.ts';
import type { KafkaClient } from '../src/messaging/kafka.ts';

/**
 * The soak's message stream: the repo's whole-insurer traffic (src/demo/generate-traffic.ts: core-policy snapshot
 * and changes with deletes, billing, claims, contact centre, app registrations) plus what it lacks for a soak —
 * agency-crm leads re-sent whole with a later status (changes), app consent changes (change events), claims
 * deleted later (op d + tombstone), exact re-sends of earlier messages (repeats: Kafka's at-least-once from a
 * source) and a few deliberately unreadable messages (they must be quarantined once each). Topics are
 * interleaved in proportion to their size, each keeping its own order, so every topic flows for the whole run.
 */
export type StreamMessage = DemoMessage & { bad?: true };

type Payer = { name: string; idNumber: string; mobile: string | null };

export function buildStream(opts: { seed: number; events: number }): StreamMessage[] {
  // generate-traffic yields about 12.5 messages per client at these proportions (bench:ingest's 8,000 / 10,000).
  const clients = Math.max(200, Math.ceil((opts.events / 12.5) * 1.1));
  const base = [
    ...generateTraffic({ seed: opts.seed, clients, policies: Math.round(clients * 1.25) }),
    ...generateChannelDemo(),
  ];
  const r = seeded(opts.seed + 7);
  const extra: DemoMessage[] = [];
  const payers = new Map<string, Payer>();
  let leads = 0;
  for (const m of base) {
    if (m.topic === 'billing.payments.v1' && m.value) {
      const p = (JSON.parse(m.value) as { payer: Payer }).payer;
      payers.set(p.idNumber, p);
    } else if (m.topic === 'claims.public.claim' && m.value && r.chance(0.15)) {
      // A claim registered in error: deleted later, as Debezium publishes it (delete, then tombstone).
      const v = JSON.parse(m.value) as { after: Record<string, unknown>; source: Record<string, unknown> };
      const ts = Number(v.source.ts_ms) + 86_400_000;
      extra.push({
        topic: m.topic,
        key: m.key,
        value: JSON.stringify({ before: v.after, after: null, source: { ...v.source, ts_ms: ts }, op: 'd', ts_ms: ts }),
      });
      extra.push({ topic: m.topic, key: m.key, value: null });
    } else if (m.topic === 'app.customer-events.v1' && m.value && r.chance(0.5)) {
      const e = JSON.parse(m.value) as { userId: string; eventId: string; at: string };
      extra.push({
        topic: m.topic,
        key: m.key,
        value: JSON.stringify({
          eventId: `${e.eventId}-C`,
          type: 'CONSENT_CHANGED',
          at: new Date(Date.parse(e.at) + 60_000).toISOString(),
          userId: e.userId,
          consent: { purpose: 'MARKETING', channel: r.pick(['SMS', 'EMAIL', 'PHONE']), granted: r.chance(0.5) },
        }),
      });
    }
  }
  // Leads typed in by agents for one payer in eight, each re-sent whole once or twice as it progresses.
  for (const p of payers.values()) {
    if (!r.chance(0.125)) continue;
    leads += 1;
    const leadId = `LEAD-S${String(leads).padStart(7, '0')}`;
    const created = Date.UTC(2026, 0, 1) + r.int(0, 300) * 86_400_000;
    const steps = ['NEW', ...(['CONTACTED', 'QUOTED', 'CONVERTED', 'LOST'] as const).slice(0, r.int(1, 2))];
    for (const [i, status] of steps.entries())
      extra.push({
        topic: 'agency.leads.v1',
        key: leadId,
        value: JSON.stringify({
          leadId,
          createdAt: new Date(created).toISOString(),
          updatedAt: new Date(created + i * 2 * 86_400_000).toISOString(),
          agentCode: `AG${String(r.int(1, 300)).padStart(4, '0')}`,
          name: p.name,
          gender: null,
          birthDate: null,
          mobile: p.mobile,
          city: null,
          source: r.pick(['REFERRAL', 'EVENT', 'COLD_CALL', 'ONLINE']),
          referredByClientNo: null,
          interests: ['CRITICAL_ILLNESS'],
          status,
          convertedPolicyNo: null,
        }),
      });
  }
  const stream = interleave([...base, ...extra]);
  // Repeats (2 %: an earlier message of the same key sent again) and unreadable messages (one in 5,000).
  const out: StreamMessage[] = [];
  let bad = 0;
  for (const m of stream) {
    out.push(m);
    if (out.length > 100 && r.chance(0.02)) {
      const again = out[r.int(0, out.length - 2)] as StreamMessage;
      if (!again.bad) out.push({ ...again });
    }
    if (out.length % 5_000 === 0) {
      bad += 1;
      out.push({
        topic: r.pick(['billing.payments.v1', 'agency.leads.v1']),
        key: `BAD-${bad}`,
        value: `{"truncated`,
        bad: true,
      });
    }
  }
  return out;
}

/** All messages, each topic in its own order, topics spread over the whole stream in proportion to their size. */
function interleave(messages: readonly DemoMessage[]): DemoMessage[] {
  const byTopic = new Map<string, DemoMessage[]>();
  for (const m of messages) {
    const list = byTopic.get(m.topic);
    if (list) list.push(m);
    else byTopic.set(m.topic, [m]);
  }
  const lists = [...byTopic.values()];
  const next = lists.map(() => 0);
  const out: DemoMessage[] = [];
  while (out.length < messages.length) {
    let best = -1;
    let bestFraction = 2;
    for (const [i, list] of lists.entries()) {
      const f = (next[i] as number) / list.length;
      if (f < bestFraction) [best, bestFraction] = [i, f];
    }
    const i = best;
    out.push((lists[i] as DemoMessage[])[next[i] as number] as DemoMessage);
    next[i] = (next[i] as number) + 1;
  }
  return out;
}

/**
 * Publishes `stream` under `prefix` at `rate` messages per second until `until()` says stop (or the stream ends),
 * in ticks of 100 ms, each tick one idempotent, ordered send of what is due. Returns what was sent.
 */
export function startProducer(opts: {
  kafka: KafkaClient;
  prefix: string;
  stream: readonly StreamMessage[];
  rate: number;
}) {
  const producer = opts.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  let sent = 0;
  let stopping = false;
  let behindMax = 0;
  const done = (async () => {
    await producer.connect();
    const started = performance.now();
    try {
      while (!stopping && sent < opts.stream.length) {
        const target = Math.min(opts.stream.length, Math.floor(((performance.now() - started) / 1000) * opts.rate));
        behindMax = Math.max(behindMax, target - sent);
        // At most 1,000 a send: a record batch per partition must stay under the broker's 1 MB.
        const due = Math.min(target, sent + 1_000);
        if (due > sent) {
          const batch = opts.stream.slice(sent, due);
          const byTopic = new Map<string, { key: string | null; value: string | null }[]>();
          for (const m of batch) {
            const list = byTopic.get(m.topic) ?? [];
            list.push({ key: m.key, value: m.value });
            byTopic.set(m.topic, list);
          }
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic: opts.prefix + topic, messages })),
          });
          sent = due;
        }
        if (sent >= target) await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await producer.disconnect();
    }
  })();
  return {
    sent: () => sent,
    /** Most messages that were due but not yet sent at one tick (the producer falling behind its rate). */
    behindMax: () => behindMax,
    async stop(): Promise<number> {
      stopping = true;
      await done;
      return sent;
    },
    done,
  };
}
