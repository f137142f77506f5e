import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type CsvError, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import iconv from 'iconv-lite';

/**
 * CSV files read as a stream, row by row, in bounded memory (a bank's daily file or a regulator's list can be
 * hundreds of megabytes; reading it whole took about 15 times its size). Rows come out with their line numbers.
 * A malformed row — a stray quote, a broken field — is reported as an error with its line number and the rest
 * of the file goes on, instead of one bad character aborting the whole file. A quote that opens a field and never
 * closes would make a CSV parser read the rest of the file as that one field; the rest is then read again line by
 * line (the banks' and the lists' files hold one record per line), so only the line with the quote is lost
 * (its text is kept with the error). Recovering holds the rest of the file in memory, in that case only.
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
  let header: string[] = [];
  const parser = createReadStream(path)
    .pipe(iconv.decodeStream(encoding))
    .pipe(
      parse({
        columns: (h: string[]) => {
          header = h.map((c) => c.trim());
          return header;
        },
        skip_empty_lines: true,
        trim: true,
        relax_column_count: true,
        info: true,
        bom: true,
        // raw: the malformed line's text reaches on_skip, so it can be kept (quarantined) rather than lost.
        raw: true,
        skip_records_with_error: true,
        on_skip: (err: CsvError | undefined, raw: string | undefined) => {
          const line = Number((err as { lines?: number } | undefined)?.lines ?? 0);
          if (err?.code === 'CSV_QUOTE_NOT_CLOSED' && raw?.includes('\n')) {
            skipped.push(...lineByLine(raw, line, header));
            return undefined;
          }
          skipped.push({ line, error: err?.message ?? 'malformed line', raw: raw ?? null });
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

/**
 * The rest of a file after a quote that never closed (`raw`, which ended at line `lastLine`), one line at a time:
 * the first line is the malformed one, every other line is parsed on its own.
 */
function lineByLine(raw: string, lastLine: number, header: readonly string[]): CsvLine[] {
  const lines = raw.replace(/\r?\n$/, '').split(/\r?\n/);
  const first = lastLine - lines.length + 1;
  return lines.flatMap((text, i): CsvLine[] => {
    const line = first + i;
    if (i === 0) return [{ line, error: 'a quote opens a field and is not closed on this line', raw: text }];
    if (text.trim() === '') return [];
    try {
      const [values] = parseSync(text, { trim: true, relax_column_count: true }) as string[][];
      return [{ line, record: Object.fromEntries(header.map((h, k) => [h, values?.[k] ?? ''])) }];
    } catch (e) {
      return [{ line, error: e instanceof Error ? e.message : 'malformed line', raw: text }];
    }
  });
}
