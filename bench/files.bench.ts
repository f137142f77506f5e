/**
 * npm run bench:files — memory of reading a large bank file row by row (src/files/csv-records.ts, what imports
 * do now) against reading it whole and parsing it at once (what they did before), side by side on the same
 * generated GBK file. Prints peak RSS growth as a multiple of the file size. Each way runs in a child process of
 * its own, so one's heap does not colour the other's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { bancassuranceColumns } from '../src/connectors/bancassurance/index.ts';
import { csvRecords } from '../src/files/csv-records.ts';

const mode = process.argv[2];
const file = process.argv[3];

async function measure(run: () => Promise<number>): Promise<void> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const rows = await run();
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ rows, growth: peak - base }));
}

if (mode === 'stream') {
  await measure(async () => {
    let n = 0;
    for await (const r of csvRecords(file as string, 'gbk')) if ('record' in r) n += 1;
    return n;
  });
} else if (mode === 'whole') {
  await measure(async () => {
    const text = new TextDecoder('gbk', { fatal: true }).decode(readFileSync(file as string));
    const rows = parse(text, {
      columns: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
      bom: true,
    });
    return (rows as unknown[]).length;
  });
} else {
  const rows = Number(process.env.BENCH_ROWS ?? 300_000);
  const path = join(mkdtempSync(join(tmpdir(), 'bench-files-')), 'bank.csv');
  const lines = [bancassuranceColumns.join(',')];
  for (let i = 0; i < rows; i += 1)
    lines.push(
      [
        'ICBC',
        '0102',
        `S${i}`,
        '王小明',
        '01',
        '110105198503071230',
        '13800138000',
        '6222',
        '1000.00',
        '20261109',
        'NB',
      ].join(','),
    );
  writeFileSync(path, iconv.encode(`${lines.join('\n')}\n`, 'gbk'));
  const size = statSync(path).size;
  const run = (m: string) =>
    JSON.parse(execFileSync(process.execPath, [process.argv[1] as string, m, path], { encoding: 'utf8' })) as {
      rows: number;
      growth: number;
    };
  const stream = run('stream');
  const whole = run('whole');
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`file: ${rows} rows, ${mb(size)} MB`);
  console.log(
    `row by row (now):      ${stream.rows} rows, peak RSS growth ${mb(stream.growth)} MB = ${(stream.growth / size).toFixed(2)}× the file`,
  );
  console.log(
    `whole file (before):   ${whole.rows} rows, peak RSS growth ${mb(whole.growth)} MB = ${(whole.growth / size).toFixed(2)}× the file`,
  );
  console.log(`ratio row-by-row / whole: ${(stream.growth / whole.growth).toFixed(3)}`);
}
