import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadMapping, readCsv, toMatchRecords } from '../src/sync/match/engine/csv-source.ts';
import { toMatchRecord } from '../src/sync/match/engine/match-record.ts';
import { generateErPopulation } from './er-population.ts';
import { pairwiseScores, resolveRecords } from '../src/sync/match/engine/engine.ts';
import { candidatePairs } from '../src/sync/match/engine/blocking.ts';
import type { MatchRecord } from '../src/sync/match/engine/match-record.ts';

/**
 * Entity-resolution quality on the public benchmark sets in ../shared/bench/er (ground truth, pairwise
 * precision / recall / F1), with the engine's DEFAULT settings, side by side with the exact-id baseline.
 *   npm run bench:er
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const er = process.env.ER_DATA_DIR ?? join(root, '../shared/bench/er');
const mappings = join(root, 'bench/mappings');

type DataSet = {
  name: string;
  sources: { name: string; file: string }[];
  mapping: string;
  truth: (recordId: string, row: Record<string, string>) => string;
  reference: string;
  /** A generated set instead of files: the records and their true entities. */
  generate?: () => { records: MatchRecord[]; truth: string[] };
};

const febrlTruth = (id: string) => /^rec-(\d+)/.exec(id)?.[1] ?? id;
const sets: DataSet[] = [
  {
    name: 'febrl4 (2 sources)',
    sources: [
      { name: 'a', file: 'febrl-dataset4a.csv' },
      { name: 'b', file: 'febrl-dataset4b.csv' },
    ],
    mapping: 'febrl.json',
    truth: febrlTruth,
    reference: 'Splink F1 0.9992 @ p=0.5; target ≥ 0.999',
  },
  {
    name: 'febrl1 (dedupe)',
    sources: [{ name: 'a', file: 'febrl-dataset1.csv' }],
    mapping: 'febrl.json',
    truth: febrlTruth,
    reference: 'report only',
  },
  {
    name: 'splink fake_1000',
    sources: [{ name: 'a', file: 'splink-fake_1000.csv' }],
    mapping: 'splink-fake.json',
    truth: (_id, row) => row.cluster ?? '',
    reference: 'Splink F1 0.806 @ p=0.5; target ≥ 0.88',
  },
  {
    name: 'generated insurer',
    sources: [],
    mapping: '',
    truth: () => '',
    reference: 'families sharing contacts, heavy noise; target P ≥ 0.95, largest ≤ 1.5× true',
    generate: () => {
      const rows = generateErPopulation({ households: Number(process.env.ER_HOUSEHOLDS ?? 3600) });
      return {
        records: rows.map((row, i) => toMatchRecord(i, row.source, row.recordId, row.attributes)),
        truth: rows.map((row) => row.entity),
      };
    },
  },
];

function exactIdBaseline(records: readonly MatchRecord[]): Int32Array {
  const first = new Map<string, number>();
  const clusterOf = new Int32Array(records.length);
  for (const r of records) {
    const key = r.idNumber;
    if (key === null) {
      clusterOf[r.index] = r.index;
      continue;
    }
    const c = first.get(key) ?? r.index;
    first.set(key, c);
    clusterOf[r.index] = c;
  }
  return clusterOf;
}

const fmt = (x: number) => x.toFixed(4);
const recalls: string[] = [];
const sizesLines: string[] = [];
console.log(
  'data set              | engine P / R / F1          | exact-id P / R / F1        | engine time | reference',
);
for (const set of sets) {
  const records: MatchRecord[] = [];
  const truth: string[] = [];
  if (set.generate) {
    const generated = set.generate();
    records.push(...generated.records);
    truth.push(...generated.truth);
  }
  for (const s of set.sources) {
    const mapping = loadMapping(join(mappings, set.mapping));
    const rows = readCsv(join(er, s.file));
    const recs = toMatchRecords(s.name, rows, mapping, records.length);
    recs.forEach((r, k) => truth.push(set.truth(r.recordId, rows[k] ?? {})));
    records.push(...recs);
  }
  const started = performance.now();
  const result = resolveRecords(records);
  const ms = performance.now() - started;
  const e = pairwiseScores(result.clusterOf, truth);
  // Blocking recall: the share of true pairs that are candidate pairs at all.
  const n = records.length;
  const byEntity = new Map<string, number[]>();
  truth.forEach((t, i) => byEntity.set(t, [...(byEntity.get(t) ?? []), i]));
  let truePairs = 0;
  let blocked = 0;
  const { pairs } = candidatePairs(records);
  for (const members of byEntity.values()) {
    for (let x = 0; x < members.length; x += 1) {
      for (let y = x + 1; y < members.length; y += 1) {
        truePairs += 1;
        const i = Math.min(members[x] as number, members[y] as number);
        const j = Math.max(members[x] as number, members[y] as number);
        if (pairs.has(i * n + j)) blocked += 1;
      }
    }
  }
  recalls.push(
    `${set.name}: blocking recall ${(blocked / truePairs).toFixed(4)} (${blocked}/${truePairs} true pairs are candidates; ${pairs.size} candidate pairs)`,
  );
  const b = pairwiseScores(exactIdBaseline(records), truth);
  // Side by side: the same engine clustering connected components of pairwise matches (before golden-record
  // level decisions), and the largest golden record each makes against the largest true group.
  const links = resolveRecords(records, { decideAsWholes: false });
  const l = pairwiseScores(links.clusterOf, truth);
  const largest = (clusters: ArrayLike<number> | readonly string[]) => {
    const sizes = new Map<string | number, number>();
    for (let i = 0; i < clusters.length; i += 1)
      sizes.set(clusters[i] as string | number, (sizes.get(clusters[i] as string | number) ?? 0) + 1);
    return Math.max(...sizes.values());
  };
  sizesLines.push(
    `${set.name}: ${records.length} records; largest golden record ${largest(result.clusterOf)} (pairwise links: ${largest(links.clusterOf)}) vs largest true group ${largest(truth)}; pairwise links P / R / F1 ${fmt(l.precision)} / ${fmt(l.recall)} / ${fmt(l.f1)}`,
  );
  console.log(
    `${set.name.padEnd(21)} | ${fmt(e.precision)} / ${fmt(e.recall)} / ${fmt(e.f1)} | ${fmt(b.precision)} / ${fmt(b.recall)} / ${fmt(b.f1)} | ${Math.round(ms)} ms | ${set.reference}`,
  );
  if (process.env.ER_DEBUG)
    console.log(
      JSON.stringify({ blocking: result.blocking, timings: result.timings, lambda: result.model.lambda, e }, null, 1),
    );
}
for (const line of [...recalls, ...sizesLines]) console.log(line);
