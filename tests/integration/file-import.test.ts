import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import pg from 'pg';
import { bancassuranceColumns, bancassuranceConnector } from '../../src/connectors/bancassurance/index.ts';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { importFile } from '../../src/ingest/file-import.ts';
import { importListFile } from '../../src/risk/list-import.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';
import { retriesTotal } from '../../src/observability/metrics.ts';

/**
 * Files are read row by row: one stray quote no longer aborts the whole file. The malformed line is reported
 * (and quarantined, for bank files) with its line number, every other line loads, and the same file again is a
 * no-op. Memory per file size is measured by `npm run bench:files`, not here.
 */
const dir = mkdtempSync(join(tmpdir(), 'import-'));
const bankRow = (n: number, name: string) =>
  [
    'ICBC',
    '0102',
    `S${String(n).padStart(7, '0')}`,
    name,
    '01',
    residentId('310104', '19900101', String(100 + n)),
    `1390000${String(n).padStart(4, '0')}`,
    '6222',
    '1000.00',
    '20261109',
    'NB',
  ].join(',');

describe('streaming file imports', () => {
  let db: TestDatabase;
  let hub: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('reports and quarantines a bank-file line with a stray quote and loads the rest; the same file twice is a no-op', async () => {
    const file = join(dir, 'bank.csv');
    const lines = [
      bancassuranceColumns.join(','),
      bankRow(1, '赵一'),
      bankRow(2, '钱"二'),
      bankRow(3, '孙三'),
      bankRow(4, '李四'),
    ];
    writeFileSync(file, iconv.encode(`${lines.join('\n')}\n`, 'gbk'));
    const first = await importFile(hub.orm, bancassuranceConnector, file, ingestDeps);
    expect(first.quarantined).toBe(1);
    expect(first.rejected).toEqual([
      { offset: '3', code: 'UNDECODABLE', reason: expect.stringMatching(/^line 3 is not a valid CSV row: .*quote/i) },
    ]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const sales = (await c.query(`select source_key from activity where kind = 'BANK_SALE' order by source_key`))
        .rows;
      expect(sales.map((r) => r.source_key)).toHaveLength(3);
      expect(sales.map((r) => r.source_key).join()).not.toMatch(/S0000002/);
      const q = (await c.query(`select "offset"::text as line, message_value from quarantined_event`)).rows;
      // The parser keeps the line's text up to the point it failed.
      expect(q).toEqual([{ line: '3', message_value: expect.stringContaining('S0000002,钱"') }]);
    } finally {
      await c.end();
    }
    const again = await importFile(hub.orm, bancassuranceConnector, file, ingestDeps);
    expect(again).toMatchObject({ applied: 0, quarantined: 0, skipped: 4 });
  });

  it('reports a list-file line with a stray quote by number and proposes the rest', async () => {
    const file = join(dir, 'list.csv');
    writeFileSync(
      file,
      [
        'list,id_number,full_name,birth_date,phone,bank_account,credit_code,reason,authority,effective_from,effective_to',
        'SANCTIONS,,孙九,1991-02-02,,,,notice 12,NFRA,,',
        'SANCTIONS,,周"十,1991-02-03,,,,notice 13,NFRA,,',
        'BAD_DEBT,,,,13900000000,,,collections,,,',
      ].join('\n'),
    );
    const result = await hub.orm.em.fork().transactional((em) => importListFile(em, file, 'risk-admin-a'));
    expect(result.proposed).toBe(2);
    expect(result.rejected).toEqual([{ line: 3, reason: expect.stringMatching(/^malformed line: .*quote/i) }]);
  });

  it('applies a chunk again when its connection is dropped mid-transaction, and loses or doubles nothing', async () => {
    const file = join(dir, 'bank-retry.csv');
    const lines = [bancassuranceColumns.join(','), ...[11, 12, 13].map((n) => bankRow(n, `吴${n}`))];
    writeFileSync(file, iconv.encode(`${lines.join('\n')}\n`, 'gbk'));
    const retriesBefore = await retries();
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      // The import's transaction waits on a lock; its backend is terminated while it waits (a dropped connection).
      await blocker.query('begin');
      await blocker.query('lock table activity in exclusive mode');
      const importing = importFile(hub.orm, bancassuranceConnector, file, ingestDeps);
      let victim: number | null = null;
      for (let i = 0; i < 100 && victim === null; i += 1) {
        const { rows } = await blocker.query<{ pid: number }>(
          `select pid from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
        );
        victim = rows[0]?.pid ?? null;
        if (victim === null) await new Promise((r) => setTimeout(r, 100));
      }
      expect(victim).not.toBeNull();
      await blocker.query('select pg_terminate_backend($1)', [victim]);
      await blocker.query('commit');
      const report = await importing;
      expect(report).toMatchObject({ rows: 3, quarantined: 0, skipped: 0 });
      const { rows } = await blocker.query(
        `select count(*)::int as n from activity where kind = 'BANK_SALE' and source_key ~ ':S00000(11|12|13):'`,
      );
      expect(rows[0]).toEqual({ n: 3 });
    } finally {
      await blocker.end();
    }
    expect(await retries()).toBe(retriesBefore + 1);
  });

  it('counts what a chunk over the key-lock budget committed before a later transaction failed, and applies only the rest', async () => {
    const file = join(dir, 'bank-budget.csv');
    const rows = Array.from({ length: 40 }, (_, i) => bankRow(100 + i, i === 2 ? '郑"三' : `郑${i}`));
    writeFileSync(file, iconv.encode(`${[bancassuranceColumns.join(','), ...rows].join('\n')}\n`, 'gbk'));
    // A budget of a few customers a transaction; the third transaction fails once at its end, as a deadlock would.
    let transactions = 0;
    const deps = {
      ...ingestDeps,
      maxKeyLocks: 40,
      followUp: {
        phase: ingestDeps.followUp.phase,
        async run(...args: Parameters<typeof ingestDeps.followUp.run>) {
          transactions += 1;
          if (transactions === 3) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
          await ingestDeps.followUp.run(...args);
        },
      },
    };
    const report = await importFile(hub.orm, bancassuranceConnector, file, deps);
    expect(transactions).toBeGreaterThan(4);
    // The malformed line (committed in the first transaction) is reported; nothing counted twice or skipped.
    expect(report).toMatchObject({ rows: 40, quarantined: 1, skipped: 0 });
    expect(report.rejected.map((r) => r.offset)).toEqual(['4']);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows: sales } = await c.query(
        `select count(*)::int as n from activity where kind = 'BANK_SALE' and source_key ~ ':S00001[0-3][0-9]:'`,
      );
      expect(sales[0]).toEqual({ n: 39 });
    } finally {
      await c.end();
    }
    const again = await importFile(hub.orm, bancassuranceConnector, file, deps);
    expect(again).toMatchObject({ applied: 0, quarantined: 0, skipped: 40 });
  });
});

/** hub_transient_retries_total for the bank connector, from the registry the hub exports on /metrics. */
async function retries(): Promise<number> {
  const metric = await retriesTotal.get();
  return metric.values.filter((v) => v.labels.connector === 'bancassurance').reduce((n, v) => n + v.value, 0);
}
