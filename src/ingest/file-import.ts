import type { IngestDeps } from './apply-batch.ts';
import { basename } from 'node:path';
import { csvRecords, fileDigest } from '../files/csv-records.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Connector, SourceMessage } from '../connectors/framework/connector.ts';
import {
  addBatchResult,
  applyBatch,
  emptyBatchResult,
  PartiallyApplied,
  type BatchPart,
  type BatchResult,
} from './apply-batch.ts';
import type { Route } from './topic-router.ts';
import { retriesTotal, retryCause } from '../observability/metrics.ts';

/**
 * Batch files (bank sales files, initial loads) through the same mapping and apply step as Kafka. The file is
 * streamed — decoded (GBK for the banks' files) and parsed row by row, applied 500 rows at a time, so memory
 * does not grow with the file — and each CSV row becomes one message whose position is its line number;
 * positions are stored per file content (SHA-256): a file delivered twice is a no-op. Bad rows, malformed lines
 * included, are quarantined and reported with their line numbers while the good rows load. At an initial load the
 * same rows can go through the bulk load instead (`fileParts`, `hub bulk-load --file`), positions included.
 */
export type ImportReport = BatchResult & { file: string; rows: number; stream: string };

/** A batch file as a source: its stream (named by the file and its content), the group its positions are kept
 * under, and its rows as messages (position = line number; a malformed line carries its reason). */
export type FileSource = {
  route: Route;
  consumerGroup: string;
  messages(): AsyncGenerator<SourceMessage>;
};

export async function fileSource(
  connector: Connector,
  path: string,
  opts: { encoding?: string } = {},
): Promise<FileSource> {
  const digest = (await fileDigest(path)).slice(0, 16);
  const contractTopic = connector.manifest.topics[0] as string;
  const stream = `${contractTopic}/${basename(path)}#${digest}`;
  return {
    route: { connector, topic: stream, contractTopic },
    consumerGroup: `import:${connector.manifest.id}`,
    async *messages() {
      // A malformed line is quarantined like any bad record (its raw text, the parser's reason): nothing is lost.
      for await (const row of csvRecords(path, opts.encoding ?? 'gbk'))
        yield 'error' in row
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
            };
    },
  };
}

export async function importFile(
  orm: MikroORM,
  connector: Connector,
  path: string,
  deps: IngestDeps,
  opts: { encoding?: string } = {},
): Promise<ImportReport> {
  const source = await fileSource(connector, path, opts);
  const total: ImportReport = {
    file: path,
    rows: 0,
    stream: source.route.topic,
    ...emptyBatchResult(),
  };
  const applyChunk = async (chunk: SourceMessage[]) => {
    // Positions are line numbers: in order within the chunk, so a redelivered file is skipped line by line.
    chunk.sort((a, b) => Number(a.offset) - Number(b.offset));
    const connector = source.route.connector.manifest.id;
    let rest: SourceMessage[] = chunk;
    while (rest.length > 0)
      await withRetries(connector, async () => {
        try {
          addBatchResult(total, await applyBatch(orm, source.consumerGroup, source.route, 0, rest, deps));
          rest = [];
        } catch (e) {
          if (!(e instanceof PartiallyApplied)) throw e;
          // A chunk over the key-lock budget is several transactions: what the earlier ones committed counts (its
          // rejected lines included), and the rest is applied again, with fresh attempts since this one got on.
          for (const c of e.committed.values()) {
            addBatchResult(total, c.result);
            rest = rest.slice(c.messages);
          }
          retriesTotal.inc({ connector, cause: retryCause(e) });
        }
      });
  };
  let chunk: SourceMessage[] = [];
  for await (const message of source.messages()) {
    total.rows += 1;
    chunk.push(message);
    if (chunk.length >= 500) {
      await applyChunk(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await applyChunk(chunk);
  return total;
}

/**
 * A chunk is one transaction (or several, over the key-lock budget); one that fails for a passing reason (a deadlock, PostgreSQL's lock table full, a
 * dropped connection) is applied again after a pause, as streaming does, a few times before the import gives up
 * with the error (running it again later skips the lines already imported).
 */
async function withRetries<T>(connector: string, apply: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await apply();
    } catch (e) {
      if (attempt >= attempts) throw e;
      retriesTotal.inc({ connector, cause: retryCause(e) });
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

/** A batch file's rows as the bulk load's parts (src/ingest/bulk-load.ts), their positions kept where `hub import`
 * keeps them. */
export async function* fileParts(source: FileSource, size = 1_000): AsyncGenerator<BatchPart> {
  let messages: SourceMessage[] = [];
  for await (const message of source.messages()) {
    messages.push(message);
    if (messages.length >= size) {
      yield { route: source.route, partition: 0, messages, consumerGroup: source.consumerGroup };
      messages = [];
    }
  }
  if (messages.length > 0) yield { route: source.route, partition: 0, messages, consumerGroup: source.consumerGroup };
}
