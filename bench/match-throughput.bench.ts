import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePeople } from '../src/demo/generate-people.ts';
import { matchFileCommand } from '../src/cli/match-file.ts';
import { loadMapping, readCsv, toMatchRecords } from '../src/sync/match/engine/csv-source.ts';
import { pairwiseScores } from '../src/sync/match/engine/engine.ts';

/**
 * `match-file` throughput at 100,000 generated records in two source files (target ≥ 20,000 records/s on the
 * 2-core machine), end to end (CSV in, CSV out), side by side with an exact-id baseline over the same files
 * (read, normalise, group by id number), with pairwise quality against the generated truth.
 *   npm run bench:match [-- RECORDS]
 */
const count = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'match-bench-'));
const people = generatePeople(count);
const columns = [
  'record_id',
  'family_name',
  'given_name',
  'birth_date',
  'sex',
  'id_number',
  'phone',
  'email',
  'address',
  'city',
  'postcode',
] as const;
const csv = (v: string | null | undefined) =>
  v === null || v === undefined ? '' : /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
for (const source of ['a', 'b']) {
  const rows = people
    .filter((p) => p.source === source)
    .map((p) => {
      const a = p.attributes;
      return [
        p.recordId,
        a.familyName,
        a.givenName,
        a.birthDate,
        a.sex,
        a.idNumber,
        a.phone,
        a.email,
        a.addressLine,
        a.city,
        a.postcode,
      ]
        .map(csv)
        .join(',');
    });
  writeFileSync(join(dir, `${source}.csv`), `${columns.join(',')}\n${rows.join('\n')}\n`);
}
const mappingFile = join(dir, 'mapping.json');
writeFileSync(
  mappingFile,
  JSON.stringify({
    recordId: 'record_id',
    attributes: {
      familyName: 'family_name',
      givenName: 'given_name',
      birthDate: 'birth_date',
      sex: 'sex',
      idNumber: 'id_number',
      phone: 'phone',
      email: 'email',
      addressLine: 'address',
      city: 'city',
      postcode: 'postcode',
    },
  }),
);
const truthOf = new Map(people.map((p) => [`${p.source}\u0000${p.recordId}`, String(p.entity)]));

// Baseline: exact id-number matching over the same files.
let started = performance.now();
const mapping = loadMapping(mappingFile);
const records = [...toMatchRecords('a', readCsv(join(dir, 'a.csv')), mapping, 0)];
records.push(...toMatchRecords('b', readCsv(join(dir, 'b.csv')), mapping, records.length));
const first = new Map<string, number>();
const baselineClusters = records.map((r) => {
  if (r.idNumber === null) return r.index;
  const c = first.get(r.idNumber) ?? r.index;
  first.set(r.idNumber, c);
  return c;
});
const baselineSeconds = (performance.now() - started) / 1000;
const baselineScores = pairwiseScores(
  baselineClusters,
  records.map((r) => truthOf.get(`${r.source}\u0000${r.recordId}`) ?? ''),
);

// The engine, through the command itself.
const out = join(dir, 'out.csv');
started = performance.now();
await matchFileCommand([
  '--source',
  `a=${join(dir, 'a.csv')}`,
  '--source',
  `b=${join(dir, 'b.csv')}`,
  '--mapping',
  mappingFile,
  '--out',
  out,
]);
const engineSeconds = (performance.now() - started) / 1000;
const result = readFileSync(out, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const goldenIds = new Map<string, number>();
const engineClusters = result.map(([, , golden]) => {
  const g = golden ?? '';
  if (!goldenIds.has(g)) goldenIds.set(g, goldenIds.size);
  return goldenIds.get(g) as number;
});
const engineScores = pairwiseScores(
  engineClusters,
  result.map(([source, id]) => truthOf.get(`${source}\u0000${id}`) ?? ''),
);

const f = (x: number) => x.toFixed(4);
console.log(
  `records: ${count} in 2 source files (${people.filter((p) => p.source === 'b').length} of them second copies of a person)`,
);
console.log(
  `match-file : ${engineSeconds.toFixed(2)} s = ${Math.round(count / engineSeconds)} records/s | P ${f(engineScores.precision)} R ${f(engineScores.recall)} F1 ${f(engineScores.f1)}`,
);
console.log(
  `exact-id   : ${baselineSeconds.toFixed(2)} s = ${Math.round(count / baselineSeconds)} records/s | P ${f(baselineScores.precision)} R ${f(baselineScores.recall)} F1 ${f(baselineScores.f1)}`,
);
console.log(
  `time ratio match-file / exact-id: ${(engineSeconds / baselineSeconds).toFixed(2)}x; F1 ratio: ${(engineScores.f1 / baselineScores.f1).toFixed(2)}x; target ≥ 20,000 records/s: ${count / engineSeconds >= 20_000 ? 'met' : 'NOT met'}`,
);
