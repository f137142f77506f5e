import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { canonicalAttributes, toMatchRecord, type CanonicalAttribute, type MatchRecord } from './match-record.ts';

/**
 * CSV input for `match-file`: each file is one source system; a mapping names the record-id column and which
 * column(s) feed each canonical attribute (several columns are joined with a space, e.g. street number +
 * street). Comma-plus-space files (Febrl) are read as they are: fields are trimmed.
 */
export const mappingSchema = z.object({
  recordId: z.string().min(1),
  attributes: z.partialRecord(
    z.enum(canonicalAttributes),
    z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  ),
});
export type CsvMapping = z.infer<typeof mappingSchema>;

export function loadMapping(path: string): CsvMapping {
  const parsed = mappingSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `invalid mapping ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export type CsvRow = Record<string, string>;

export function readCsv(path: string): CsvRow[] {
  return parse(readFileSync(path), {
    columns: (header: string[]) => header.map((h) => h.trim()),
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    bom: true,
  });
}

export function toMatchRecords(
  source: string,
  rows: readonly CsvRow[],
  mapping: CsvMapping,
  startIndex: number,
): MatchRecord[] {
  const missing = [mapping.recordId, ...Object.values(mapping.attributes).flat()].filter(
    (c) => rows[0] !== undefined && !(c in rows[0]),
  );
  if (missing.length > 0)
    throw new Error(`source ${source}: columns not found in the file: ${[...new Set(missing)].join(', ')}`);
  return rows.map((row, k) => {
    const values: Partial<Record<CanonicalAttribute, string | null>> = {};
    for (const [attribute, columns] of Object.entries(mapping.attributes) as [
      CanonicalAttribute,
      string | string[],
    ][]) {
      const parts = (Array.isArray(columns) ? columns : [columns]).map((c) => row[c] ?? '').filter((v) => v !== '');
      values[attribute] = parts.length === 0 ? null : parts.join(' ');
    }
    return toMatchRecord(startIndex + k, source, row[mapping.recordId] ?? String(k), values);
  });
}
