import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type CsvError, parse } from 'csv-parse';
import iconv from 'iconv-lite';

/**
 * CSV files read as a stream, row by row, in bounded memory (a bank's daily file or a regulator's list can be
 * hundreds of megabytes; reading it whole took about 15 times its size). Rows come out with their line numbers.
 * A malformed row — a stray quote, a broken field — is reported as an error with its line number and the rest
 * of the file goes on, instead of one bad character aborting the whole file.
 */
export type CsvLine =
  | { line: number; record: Record<string, string> }
  | { line: number; error: string; raw: string | null };

/** SHA-256 of a file's bytes, read as a stream (files are identified by content: the same file twice is a no-op). */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function* csvRecords(path: string, encoding: string): AsyncGenerator<CsvLine> {
  const skipped: CsvLine[] = [];
  const parser = createReadStream(path)
    .pipe(iconv.decodeStream(encoding))
    .pipe(
      parse({
        columns: (h: string[]) => h.map((c) => c.trim()),
        skip_empty_lines: true,
        trim: true,
        relax_column_count: true,
        info: true,
        bom: true,
        // raw: the malformed line's text reaches on_skip, so it can be kept (quarantined) rather than lost.
        raw: true,
        skip_records_with_error: true,
        on_skip: (err: CsvError | undefined, raw: string | undefined) => {
          skipped.push({
            line: Number((err as { lines?: number } | undefined)?.lines ?? 0),
            error: err?.message ?? 'malformed line',
            raw: raw ?? null,
          });
          return undefined;
        },
      }),
    );
  for await (const r of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length > 0) yield skipped.shift() as CsvLine;
    yield { line: r.info.lines, record: r.record };
  }
  while (skipped.length > 0) yield skipped.shift() as CsvLine;
}
