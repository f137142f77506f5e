import type { IngestDeps } from './apply-batch.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Connector } from '../connectors/framework/connector.ts';
import { applyBatch, type BatchResult } from './apply-batch.ts';
import type { Route } from './topic-router.ts';

/**
 * Batch files (bank sales files, initial loads) through the same mapping and apply step as Kafka. The file is
 * decoded (GBK for the banks' files: Node's ICU TextDecoder), each CSV row becomes one message whose position
 * is its line number, and positions are stored per file content (SHA-256): a file delivered twice is a no-op,
 * and bad rows are reported with their line numbers while the good rows load.
 */
export type ImportReport = BatchResult & { file: string; rows: number; stream: string };

export async function importFile(
  orm: MikroORM,
  connector: Connector,
  path: string,
  deps: IngestDeps,
  opts: { encoding?: string } = {},
): Promise<ImportReport> {
  const bytes = readFileSync(path);
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const text = new TextDecoder(opts.encoding ?? 'gbk', { fatal: true }).decode(bytes);
  const records: { line: number; row: Record<string, string> }[] = [];
  const parser = parse(text, {
    columns: (h: string[]) => h.map((c) => c.trim()),
    skip_empty_lines: true,
    trim: true,
    relax_column_count: true,
    info: true,
    bom: true,
  });
  for (const r of parser as unknown as { record: Record<string, string>; info: { lines: number } }[])
    records.push({ line: r.info.lines, row: r.record });
  const contractTopic = connector.manifest.topics[0] as string;
  const stream = `${contractTopic}/${basename(path)}#${digest}`;
  const route: Route = { connector, topic: stream, contractTopic };
  const total: ImportReport = {
    file: path,
    rows: records.length,
    stream,
    applied: 0,
    stale: 0,
    partiesChanged: 0,
    skipped: 0,
    quarantined: 0,
    nextOffset: null,
    rejected: [],
    latestSourceTime: null,
  };
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500).map((r) => ({
      topic: stream,
      partition: 0,
      offset: String(r.line),
      key: null,
      value: Buffer.from(JSON.stringify(r.row)),
      timestamp: null,
    }));
    const r = await applyBatch(orm, `import:${connector.manifest.id}`, route, 0, chunk, deps);
    total.applied += r.applied;
    total.stale += r.stale;
    total.partiesChanged += r.partiesChanged;
    total.skipped += r.skipped;
    total.quarantined += r.quarantined;
    total.rejected.push(...r.rejected);
  }
  return total;
}
