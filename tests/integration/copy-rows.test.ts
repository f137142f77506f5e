import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { copyRows } from '../../src/db/copy.ts';
import { executeBound } from '../../src/db/bound-sql.ts';
import { openOrm } from '../../src/db/orm.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * `copyRows` (src/db/copy.ts) encodes COPY's text format into byte chunks itself: what PostgreSQL stores must be
 * exactly the values given — delimiters escaped, multi-byte characters whole across chunk boundaries, a value
 * larger than a chunk, NULLs, dates and objects as JSON — and the rows roll back with the transaction.
 */
describe('COPY of rows into a transaction', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  beforeAll(async () => {
    db = await createTestDatabase('hub_copy_rows');
    orm = await openOrm(db.url, { poolMax: 1 });
    await orm.em.fork().execute('create table copied (n int primary key, t text, j jsonb, at timestamptz)');
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('stores every value as given, across chunk boundaries', async () => {
    const tricky = [
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      'back\\slash \\N',
      '张三丰 招商银行',
      '😀 surrogate pair',
      '',
    ];
    const rows: [number, string | null, unknown, Date | null][] = [];
    for (let n = 0; n < 30_000; n += 1)
      rows.push([
        n,
        n % 97 === 0 ? null : `${tricky[n % tricky.length]} #${n} ${'王'.repeat(n % 50)}`,
        n % 5 === 0 ? null : { n, name: '李四', note: tricky[n % tricky.length] },
        n % 3 === 0 ? null : new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60)),
      ]);
    rows.push([30_000, `${'长'.repeat(400_000)}\tend`, { big: 'x'.repeat(300_000) }, null]); // over a chunk
    const written = await orm.em.fork().transactional((em) => copyRows(em, 'copied', ['n', 't', 'j', 'at'], rows));
    expect(written).toBe(rows.length);
    const stored = await executeBound<{ n: number; t: string | null; j: unknown; at: Date | null }[]>(
      orm.em.fork(),
      'select n, t, j, at from copied order by n',
    );
    expect(stored.length).toBe(rows.length);
    for (const [at, row] of rows.entries()) {
      const s = stored[at];
      expect(s?.n).toBe(row[0]);
      expect(s?.t).toBe(row[1]);
      expect(s?.j).toEqual(row[2]);
      expect(s?.at === null ? null : new Date(s?.at as Date).getTime()).toBe(row[3]?.getTime() ?? null);
    }
  });

  it('reports a row the server rejects while more rows are still being sent, and writes none', async () => {
    await orm.em.fork().execute('create table checked (n int primary key check (n <> 5), t text)');
    // Megabytes after the bad row, sent in many chunks that each wait for room.
    const rows = Array.from({ length: 60_000 }, (_, n) => [n, `${'行'.repeat(200)} ${n}`]);
    await expect(orm.em.fork().transactional((em) => copyRows(em, 'checked', ['n', 't'], rows))).rejects.toThrow(
      /checked_n_check/,
    );
    const [row] = await executeBound<{ n: number }[]>(orm.em.fork(), 'select count(*)::int as n from checked');
    expect(row?.n).toBe(0);
  });

  it('writes nothing when its transaction rolls back', async () => {
    await expect(
      orm.em.fork().transactional(async (em) => {
        await copyRows(em, 'copied', ['n', 't'], [[-1, 'rolled back']]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const [row] = await executeBound<{ n: number }[]>(
      orm.em.fork(),
      'select count(*)::int as n from copied where n < 0',
    );
    expect(row?.n).toBe(0);
  });
});
