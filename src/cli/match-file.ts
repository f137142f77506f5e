import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadMapping, readCsv, toMatchRecords } from '../sync/match/engine/csv-source.ts';
import { resolveRecords } from '../sync/match/engine/engine.ts';
import type { MatchRecord } from '../sync/match/engine/match-record.ts';

/**
 * `npm run hub -- match-file --source NAME=PATH [--source …] --mapping FILE.json --out FILE.csv`
 * Runs the matching engine over CSV files (onboarding a source, benchmarks) and writes
 * `source,record_id,golden_id`.
 */
export async function matchFileCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      source: { type: 'string', multiple: true },
      mapping: { type: 'string' },
      out: { type: 'string' },
      'link-only': { type: 'boolean', default: false },
      'model-out': { type: 'string' },
    },
  });
  const sources = (values.source ?? []).map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--source must be NAME=PATH (got ${s})`);
    return { name: s.slice(0, eq), path: s.slice(eq + 1) };
  });
  if (sources.length === 0 || !values.mapping || !values.out)
    throw new Error('usage: match-file --source NAME=PATH [--source NAME=PATH …] --mapping FILE.json --out FILE.csv');
  const mapping = loadMapping(values.mapping);
  const started = performance.now();
  const records: MatchRecord[] = [];
  for (const s of sources) records.push(...toMatchRecords(s.name, readCsv(s.path), mapping, records.length));
  const result = resolveRecords(records, { linkOnly: values['link-only'] ?? false });
  const lines = ['source,record_id,golden_id'];
  for (const r of records)
    lines.push(
      [r.source, r.recordId, `g${records[result.clusterOf[r.index] as number]?.recordId ?? r.recordId}`]
        .map(csvField)
        .join(','),
    );
  writeFileSync(values.out, `${lines.join('\n')}\n`);
  // The estimated parameters can be kept as the streaming matcher's model (HUB_MATCH_MODEL).
  if (values['model-out']) writeFileSync(values['model-out'], `${JSON.stringify(result.model.params(), null, 1)}\n`);
  const clusters = new Set(result.clusterOf).size;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${records.length} records → ${clusters} golden records in ${seconds.toFixed(2)} s (${Math.round(records.length / seconds)} records/s); ${result.pairs.filter((p) => p.decision === 'POSSIBLE_MATCH').length} possible matches for review; written to ${values.out}\n`,
  );
  return 0;
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}
