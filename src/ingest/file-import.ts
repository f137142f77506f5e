import type { IngestDeps } from './apply-batch.ts';
import { basename } from 'node:path';
import { csvRecords, fileDigest } from '../files/csv-records.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Connector, SourceMessage } from '../connectors/framework/connector.ts';
import { applyBatch, emptyBatchResult, type BatchResult } from './apply-batch.ts';
import type { Route } from './topic-router.ts';

/**
 * Batch files (bank sales files, initial loads) through the same mapping and apply step as Kafka. The file is
 * streamed — decoded (GBK for the banks' files) and parsed row by row, applied 500 rows at a time, so memory
 * does not grow with the file — and each CSV row becomes one message whose position is its line number;
 * positions are stored per file content (SHA-256): a file delivered twice is a no-op. Bad rows, malformed lines
 * included, are quarantined and reported with their line numbers while the good rows load.
 */
export type ImportReport = BatchResult & { file: string; rows: number; stream: string };

export async function importFile(
  orm: MikroORM,
  connector: Connector,
  path: string,
  deps: IngestDeps,
  opts: { encoding?: string } = {},
): Promise<ImportReport> {
  const digest = (await fileDigest(path)).slice(0, 16);
  const contractTopic = connector.manifest.topics[0] as string;
  const stream = `${contractTopic}/${basename(path)}#${digest}`;
  const route: Route = { connector, topic: stream, contractTopic };
  const total: ImportReport = {
    file: path,
    rows: 0,
    stream,
    ...emptyBatchResult(),
  };
  const applyChunk = async (chunk: SourceMessage[]) => {
    // Positions are line numbers: in order within the chunk, so a redelivered file is skipped line by line.
    chunk.sort((a, b) => Number(a.offset) - Number(b.offset));
    const r = await applyBatch(orm, `import:${connector.manifest.id}`, route, 0, chunk, deps);
    total.applied += r.applied;
    total.stale += r.stale;
    total.partiesChanged += r.partiesChanged;
    total.skipped += r.skipped;
    total.quarantined += r.quarantined;
    total.rejected.push(...r.rejected);
  };
  let chunk: SourceMessage[] = [];
  for await (const row of csvRecords(path, opts.encoding ?? 'gbk')) {
    total.rows += 1;
    // A malformed line is quarantined like any bad record (its raw text, the parser's reason): nothing is lost.
    chunk.push(
      'error' in row
        ? {
            topic: stream,
            partition: 0,
            offset: String(row.line),
            key: null,
            value: row.raw === null ? null : Buffer.from(row.raw),
            timestamp: null,
            undecodable: `line ${row.line} is not a valid CSV row: ${row.error}`,
          }
        : {
            topic: stream,
            partition: 0,
            offset: String(row.line),
            key: null,
            value: Buffer.from(JSON.stringify(row.record)),
            timestamp: null,
          },
    );
    if (chunk.length >= 500) {
      await applyChunk(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await applyChunk(chunk);
  return total;
}
