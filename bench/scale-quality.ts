import { loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { migrate, openOrm } from '../src/db/orm.ts';
import { connectors } from '../src/connectors/registry.ts';
import { type SourceMessage, textMessage } from '../src/connectors/framework/connector.ts';
import { type IngestDeps, mapMessages } from '../src/ingest/apply-batch.ts';
import { ingestBatch } from '../src/ingest/batch-source.ts';
import { bulkLoad } from '../src/ingest/bulk-load.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../src/runtime/hub.ts';
import { resolvePass } from '../src/sync/resolve.ts';
import { rescanAll } from '../src/risk/rescan.ts';
import { type PopulationMessage, populationChunks } from '../src/demo/generate-population.ts';

/**
 * Match quality at population scale (issue 16): a generated population (src/demo/generate-population.ts, with its
 * ground truth — the person or organisation every message is about) loaded through the bulk initial load
 * (`--loader bulk`, the default) or the streaming batch path followed by a full resolution pass (`--loader batch`),
 * then scored pairwise against the truth:
 *   - precision, recall and F1 over pairs of source records (same golden record vs same true person);
 *   - false-merge golden records (holding more than one true person: one customer's data shown to another) and
 *     split entities (one true person in more than one golden record);
 *   - review tasks (open), and how many distinct pairs of golden records they ask about;
 *   - unless --skip-risk, after a full risk rescan (`hub risk rescan`: relationships, households, screening, alert
 *     rules): the households derived against the generator's homes, pairwise (two customers in one derived household
 *     vs two people of one generated household), and the risk findings per rule on a population with no fraud
 *     planted — for the network rules (SHARED_*) every finding is a false one: an ordinary family or neighbours
 *     flagged, the noise an underwriter learns to ignore.
 *   npm run bench:quality [-- --customers 20000 --loader bulk|batch --seed N --keep-db --skip-risk]
 */
const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '20000' },
    loader: { type: 'string', default: 'bulk' },
    seed: { type: 'string' },
    chunk: { type: 'string', default: '5000' },
    'keep-db': { type: 'boolean', default: false },
    'skip-risk': { type: 'boolean', default: false },
  },
});
if (args.loader !== 'bulk' && args.loader !== 'batch') throw new Error('--loader is bulk or batch');
const customers = Number(args.customers);
const log = (line: string) => process.stdout.write(`${line}\n`);
const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
};
log(`before: ${uptime()}`);

const router = new TopicRouter(connectors);
// The truth per source record (system + source id), read off the connectors' own mapping of each message.
const truthOf = new Map<string, string>();
let conflicting = 0;
const generated: { messages: PopulationMessage[] }[] = [];
const trueHouseholds: string[][] = [];
for (const chunk of populationChunks({
  customers,
  chunkPeople: Number(args.chunk),
  ...(args.seed ? { seed: Number(args.seed) } : {}),
})) {
  generated.push({ messages: chunk.messages });
  trueHouseholds.push(...chunk.households);
  const byTopic = new Map<string, { m: SourceMessage; about: string }[]>();
  chunk.messages.forEach((m, i) => {
    const about = chunk.truth[i];
    if (about === null || about === undefined) return;
    const list = byTopic.get(m.topic) ?? [];
    list.push({
      about,
      m: textMessage(m.topic, i, m.key, m.value),
    });
    byTopic.set(m.topic, list);
  });
  for (const [topic, items] of byTopic) {
    const route = router.route(topic);
    if (!route) throw new Error(`no connector for topic ${topic}`);
    mapMessages(
      route,
      items.map((x) => x.m),
    ).forEach((mapped, i) => {
      if (!('changes' in mapped)) return;
      for (const c of mapped.changes) {
        if (c.entity !== 'party' || c.op !== 'upsert') continue;
        const key = `${c.system}\u0000${c.sourceId}`;
        const about = (items[i] as { about: string }).about;
        const known = truthOf.get(key);
        if (known !== undefined && known !== about) conflicting += 1;
        else truthOf.set(key, about);
      }
    });
  }
}
const messages = generated.reduce((s, c) => s + c.messages.length, 0);
log(
  `population: ${customers.toLocaleString('en')} customers, ${messages.toLocaleString('en')} messages, ` +
    `${truthOf.size.toLocaleString('en')} source records with a known person${conflicting ? ` (${conflicting} conflicting)` : ''}`,
);

const db = await createTestDatabase('hub_bench_quality');
try {
  const orm = await openOrm(db.url, { poolMax: 4 });
  const t0 = performance.now();
  try {
    await migrate(orm);
    const deps: IngestDeps = { ...ingestDepsFor(), followUp: { phase: 'none', run: async () => {} } };
    if (args.loader === 'bulk') {
      const r = await bulkLoad(
        orm,
        router,
        'bench-quality',
        (function* () {
          for (const c of generated) yield* c.messages;
        })(),
        deps,
      );
      log(
        `bulk load: ${r.records} records, ${r.parties} golden records, ${r.reviews} reviews, largest component ${r.largestComponent}, ${r.quarantined} quarantined`,
      );
    } else {
      for (const [k, c] of generated.entries()) await ingestBatch(orm, router, `bench-quality-${k}`, c.messages, deps);
      const p = await resolvePass(orm, deps.matcher, async () => {}, { full: true });
      log(
        `batch load + full resolution pass: ${p.records} records re-clustered, ${p.moved} moved, ${p.merged} merged, ${p.created} created`,
      );
    }
  } finally {
    await orm.close(true);
  }
  log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const linked = (
      await client.query<{ system: string; source_id: string; party_id: string }>(
        `select s.system, s.source_id, coalesce(p.merged_into_id, s.party_id) as party_id
           from source_record s join party p on p.id = s.party_id
          where not s.deleted`,
      )
    ).rows;
    const reviews = Number(
      (await client.query<{ n: string }>(`select count(*) as n from review_task where status = 'OPEN'`)).rows[0]?.n,
    );
    const reviewPairs = Number(
      (
        await client.query<{ n: string }>(
          `select count(distinct least(s.party_id, t.candidate_party_id)::text || greatest(s.party_id, t.candidate_party_id)::text) as n
             from review_task t join source_record s on s.id = t.source_record_id where t.status = 'OPEN'`,
        )
      ).rows[0]?.n,
    );
    const q = quality(linked, truthOf);
    log(`source records scored: ${q.records.toLocaleString('en')} (${q.unknown} without a known person)`);
    log(
      `golden records: ${q.parties.toLocaleString('en')}; true people and organisations: ${q.entities.toLocaleString('en')}`,
    );
    log(
      `pairs: ${q.truePairs.toLocaleString('en')} true, ${q.predictedPairs.toLocaleString('en')} merged, ${q.tp.toLocaleString('en')} both`,
    );
    log(
      `precision ${(100 * q.precision).toFixed(3)} %, recall ${(100 * q.recall).toFixed(3)} %, F1 ${(100 * q.f1).toFixed(3)} %`,
    );
    log(`false-merge golden records (more than one true person): ${q.falseMerges.toLocaleString('en')}`);
    log(`split entities (one person in more than one golden record): ${q.splits.toLocaleString('en')}`);
    log(
      `review tasks (open): ${reviews.toLocaleString('en')}, distinct golden-record pairs asked about: ${reviewPairs.toLocaleString('en')}`,
    );
    if (!args['skip-risk']) await riskQuality(db.url, client, linked);
  } finally {
    await client.end();
  }
} finally {
  if (args['keep-db']) log(`kept database: BENCH_DB_URL=${db.url}`);
  else await db.drop();
  log(`after: ${uptime()}`);
}

/** Pairwise scores of a partition (golden record per source record) against the truth (person per source record). */
function quality(linked: { system: string; source_id: string; party_id: string }[], truth: Map<string, string>) {
  const pairs = (n: number) => (n * (n - 1)) / 2;
  const byParty = new Map<string, Map<string, number>>();
  const byEntity = new Map<string, Set<string>>();
  const entitySize = new Map<string, number>();
  let unknown = 0;
  for (const r of linked) {
    const who = truth.get(`${r.system}\u0000${r.source_id}`);
    if (who === undefined) {
      unknown += 1;
      continue;
    }
    const inParty = byParty.get(r.party_id) ?? new Map<string, number>();
    inParty.set(who, (inParty.get(who) ?? 0) + 1);
    byParty.set(r.party_id, inParty);
    const parties = byEntity.get(who) ?? new Set<string>();
    parties.add(r.party_id);
    byEntity.set(who, parties);
    entitySize.set(who, (entitySize.get(who) ?? 0) + 1);
  }
  let tp = 0;
  let predictedPairs = 0;
  let falseMerges = 0;
  for (const inParty of byParty.values()) {
    let size = 0;
    for (const n of inParty.values()) {
      tp += pairs(n);
      size += n;
    }
    predictedPairs += pairs(size);
    if (inParty.size > 1) falseMerges += 1;
  }
  let truePairs = 0;
  for (const n of entitySize.values()) truePairs += pairs(n);
  const splits = [...byEntity.values()].filter((s) => s.size > 1).length;
  const precision = predictedPairs === 0 ? 1 : tp / predictedPairs;
  const recall = truePairs === 0 ? 1 : tp / truePairs;
  return {
    records: linked.length - unknown,
    unknown,
    parties: byParty.size,
    entities: byEntity.size,
    truePairs,
    predictedPairs,
    tp,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    falseMerges,
    splits,
  };
}

/**
 * Households and risk findings after a full rescan, against the generator's truth: derived households scored
 * pairwise against the generated homes (each golden record stands for the person most of its records are about),
 * and the findings of each alert rule — opened alerts and findings held for the rule's hold — per 10,000 customers.
 */
async function riskQuality(
  url: string,
  client: pg.Client,
  linked: { system: string; source_id: string; party_id: string }[],
): Promise<void> {
  const orm = await openOrm(url, { poolMax: 2 });
  const t0 = performance.now();
  try {
    const r = await rescanAll(orm, '');
    log(
      `risk rescan: ${r.customers.toLocaleString('en')} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    await orm.close(true);
  }
  // The person each golden record stands for: the one most of its records are about.
  const votes = new Map<string, Map<string, number>>();
  for (const l of linked) {
    const who = truthOf.get(`${l.system}\u0000${l.source_id}`);
    if (who === undefined) continue;
    const v = votes.get(l.party_id) ?? new Map<string, number>();
    v.set(who, (v.get(who) ?? 0) + 1);
    votes.set(l.party_id, v);
  }
  const personOf = new Map<string, string>();
  for (const [party, v] of votes)
    personOf.set(party, [...v].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] as string);
  const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
  const pairsOf = (members: string[]) => {
    const out: string[] = [];
    const distinct = [...new Set(members)];
    for (let i = 0; i < distinct.length; i += 1)
      for (let j = i + 1; j < distinct.length; j += 1) out.push(pairKey(distinct[i] as string, distinct[j] as string));
    return out;
  };
  const truePairs = new Set(trueHouseholds.flatMap(pairsOf));
  const derived = (
    await client.query<{ members: string[] }>(
      `select array_agg(m.party_id::text) as members from household_member m join party p on p.id = m.party_id and p.status = 'ACTIVE' group by m.household_id`,
    )
  ).rows;
  const derivedPairs = new Set(
    derived.flatMap((h) => pairsOf(h.members.map((m) => personOf.get(m)).filter((m): m is string => m !== undefined))),
  );
  const both = [...derivedPairs].filter((p) => truePairs.has(p)).length;
  const multi = trueHouseholds.filter((h) => h.length > 1).length;
  log(
    `households: ${derived.length.toLocaleString('en')} derived, ${multi.toLocaleString('en')} generated homes of two or more; pairs ${derivedPairs.size.toLocaleString('en')} derived, ${truePairs.size.toLocaleString('en')} true, ${both.toLocaleString('en')} both: precision ${((100 * both) / Math.max(1, derivedPairs.size)).toFixed(1)} %, recall ${((100 * both) / Math.max(1, truePairs.size)).toFixed(1)} %`,
  );
  const active = Number(
    (await client.query<{ n: string }>(`select count(*) as n from party where status = 'ACTIVE'`)).rows[0]?.n,
  );
  const findings = (
    await client.query<{ rule: string; alerts: string; held: string }>(
      `select rule, sum(alerts) as alerts, sum(held) as held from (
         select rule_code as rule, count(distinct party_id) as alerts, 0 as held from alert where status <> 'CLOSED' group by 1
         union all select rule_code, 0, count(distinct party_id) from alert_pending group by 1) f
       group by rule order by rule`,
    )
  ).rows;
  const per10k = (n: number) => ((n * 10_000) / Math.max(1, active)).toFixed(1);
  log(`risk findings on ${active.toLocaleString('en')} customers, no fraud planted (customers per rule; per 10,000):`);
  for (const f of findings)
    log(
      `  ${f.rule}${f.rule.startsWith('SHARED_') ? ' (network: every finding false)' : ''}: ${Number(f.alerts)} alerted, ${Number(f.held)} held (${per10k(Number(f.alerts) + Number(f.held))} per 10,000)`,
    );
  if (findings.length === 0) log('  none');
}
