import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import pg from 'pg';
import { bancassuranceColumns, bancassuranceConnector } from '../../src/connectors/bancassurance/index.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { batchInputParts, bulkLoadParts } from '../../src/ingest/bulk-load.ts';
import { fileParts, fileSource, importFile } from '../../src/ingest/file-import.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { normalizeResidentId } from '../../src/domain/normalize/resident-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';

/**
 * Batch files through the bulk initial load (issue 16 part 3): the core system's snapshot and a bank's sales file
 * (GBK CSV, one malformed line, customers who are also core clients, some with two sales) loaded in one bulk load
 * reach the store that streaming the snapshot and then `hub import` of the file reach (after the resolution pass);
 * the malformed line is reported with its line number and quarantined; importing the same file afterwards skips
 * every line and changes nothing, because the load kept the file's positions where `hub import` keeps them.
 */
describe('bulk initial load with batch files', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dbs.push(await createTestDatabase('hub_bulk_files'), await createTestDatabase('hub_bulk_files_streamed'));
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  const traffic = generateTraffic({ seed: 7, clients: 120, policies: 150 });
  const router = new TopicRouter(connectors);
  const withOrm = async <T>(db: TestDatabase, work: (orm: Awaited<ReturnType<typeof openOrm>>) => Promise<T>) => {
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      return await work(orm);
    } finally {
      await orm.close(true);
    }
  };

  // The bank sold to some of the core system's clients (same name, resident id and mobile; a few bought twice).
  const clients = traffic
    .filter((m) => m.topic === 'corepol.LIFEDB.CLIENT' && m.value !== null)
    .map((m) => (JSON.parse(m.value as string) as { payload: { after: Record<string, unknown> | null } }).payload.after)
    .filter((a): a is Record<string, unknown> => a !== null && a.CLTTYPE === 'P' && a.IDTYPE === '01')
    // The generator gives some clients a mistyped id number, which a bank's row may not carry.
    .filter((a) => normalizeResidentId(String(a.IDNO)).valid);
  const rows = clients.slice(0, 60).flatMap((c, i) => {
    const row = (n: number) =>
      [
        'ICBC',
        '0102',
        `S${String(n).padStart(7, '0')}`,
        `${c.SURNAME}${c.GIVNAME}`,
        '01',
        String(c.IDNO),
        String(c.MOBILE ?? ''),
        '6222',
        '1000.00',
        '20261109',
        'NB',
      ].join(',');
    return i % 10 === 0 ? [row(i * 2), row(i * 2 + 1)] : [row(i * 2)];
  });
  const lines = [
    bancassuranceColumns.join(','),
    ...rows.slice(0, 20),
    'ICBC,0102,S9999999,"broken,01',
    ...rows.slice(20),
  ];
  const file = join(mkdtempSync(join(tmpdir(), 'bulk-files-')), 'icbc-20261109.csv');
  writeFileSync(file, iconv.encode(`${lines.join('\n')}\n`, 'gbk'));
  const brokenLine = '22'; // the header is line 1

  it('loads the snapshot and the file in one step, as streaming and `hub import` would, and hands over', async () => {
    const [bulkDb, streamedDb] = dbs as [TestDatabase, TestDatabase];
    const source = await fileSource(bancassuranceConnector, file);
    const loaded = await withOrm(bulkDb, (orm) =>
      bulkLoadParts(
        orm,
        'batch:snapshot',
        (async function* () {
          yield* batchInputParts(router, traffic);
          yield* fileParts(source, 25);
        })(),
        ingestDepsFor(),
      ),
    );
    expect(loaded.messages).toBe(traffic.length + rows.length + 1);
    expect(loaded.rejected).toEqual([
      {
        topic: source.route.topic,
        offset: brokenLine,
        code: 'UNDECODABLE',
        reason: expect.stringMatching(new RegExp(`^line ${brokenLine} is not a valid CSV row`)),
      },
    ]);
    expect(loaded.quarantined).toBe(1);
    // The file's positions are where `hub import` keeps them; the topics' under the load's group.
    expect(loaded.positions.filter((p) => p.consumerGroup === 'import:bancassurance')).toEqual([
      {
        consumerGroup: 'import:bancassurance',
        topic: source.route.topic,
        partition: 0,
        nextOffset: String(lines.length + 1),
      },
    ]);

    await withOrm(streamedDb, async (orm) => {
      await ingestBatch(orm, router, 'snapshot', traffic, ingestDepsFor('', 'settle', false));
      const imported = await importFile(orm, bancassuranceConnector, file, ingestDepsFor('', 'settle', false));
      expect(imported.rejected.map((r) => r.offset)).toEqual([brokenLine]);
    });
    await converge(streamedDb.url);
    const bulk = await storeFingerprint(bulkDb.url);
    const streamed = await storeFingerprint(streamedDb.url);
    for (const table of Object.keys(streamed))
      expect({ table, rows: bulk[table] }).toEqual({ table, rows: streamed[table] });

    // The bank's customers joined the core clients' golden records: each sale's customer has a core record too.
    const c = new pg.Client({ connectionString: bulkDb.url });
    await c.connect();
    try {
      const { rows: joined } = await c.query<{ sales: number; with_core: number }>(
        `select count(*)::int as sales,
                count(*) filter (where exists (
                  select 1 from source_record b join source_record s on s.party_id = b.party_id
                   where b.system = a.party_system and b.source_id = a.party_source_id
                     and s.system = 'core-policy'))::int as with_core
           from activity a where a.kind = 'BANK_SALE'`,
      );
      expect(joined[0]).toEqual({ sales: rows.length, with_core: rows.length });
    } finally {
      await c.end();
    }

    // `hub import` of the same file afterwards: every line skipped, nothing changed.
    const before = await storeFingerprint(bulkDb.url);
    const again = await withOrm(bulkDb, (orm) => importFile(orm, bancassuranceConnector, file, ingestDepsFor()));
    expect(again).toMatchObject({ applied: 0, quarantined: 0, skipped: rows.length + 1 });
    expect(await storeFingerprint(bulkDb.url)).toEqual(before);
  }, 180_000);
});
