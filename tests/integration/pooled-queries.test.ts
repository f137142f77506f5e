import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { preparePooledStatements, registerPrepared } from '../../src/db/prepared.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The pool hook of src/db/prepared.ts answers node-postgres's promise-form calls (Kysely's, hence MikroORM's and
 * the read pool's) through the callback form. Whatever the form, a caller must get what node-postgres itself
 * gives: the result, the server's error with its SQLSTATE, registered texts sent as named statements, and the
 * callback and submittable forms untouched.
 */
describe('pooled clients answer every form of query as node-postgres does', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('hub_pooled_queries');
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
    preparePooledStatements(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('resolves the promise form with the result and rejects it with the server error', async () => {
    const client = await pool.connect();
    try {
      const result = await client.query('select $1::int + 1 as n, $2::text as t', [41, 'x']);
      expect(result.rows).toEqual([{ n: 42, t: 'x' }]);
      expect(result.command).toBe('SELECT');
      const plain = await client.query('select 7 as n');
      expect(plain.rows).toEqual([{ n: 7 }]);
      const byConfig = await client.query({ text: 'select $1::int as n', values: [3] });
      expect(byConfig.rows).toEqual([{ n: 3 }]);
      await expect(client.query('select * from no_such_table where a = $1', [1])).rejects.toMatchObject({
        code: '42P01',
      });
      // The session is still usable after the error.
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });

  it('sends a registered text as a named statement, prepared once per connection', async () => {
    const text = 'select $1::int * 2 as doubled';
    const name = registerPrepared(text);
    const client = await pool.connect();
    try {
      expect((await client.query(text, [21])).rows).toEqual([{ doubled: 42 }]);
      expect((await client.query(text, [5])).rows).toEqual([{ doubled: 10 }]);
      const prepared = await client.query('select name from pg_prepared_statements where name = $1', [name]);
      expect(prepared.rows).toEqual([{ name }]);
    } finally {
      client.release();
    }
  });

  it('leaves the callback form and submittables to node-postgres', async () => {
    const client = await pool.connect();
    try {
      const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) =>
        client.query('select $1::text as t', ['cb'], (err: Error | null, res: pg.QueryResult) =>
          err ? reject(err) : resolve(res),
        ),
      );
      expect(viaCallback.rows).toEqual([{ t: 'cb' }]);
      const submitted = new pg.Query('select 5 as n');
      const rows: unknown[] = [];
      submitted.on('row', (row: unknown) => rows.push(row));
      const ended = new Promise<void>((resolve, reject) => {
        submitted.on('end', () => resolve());
        submitted.on('error', reject);
      });
      // A submittable is returned as it is, not wrapped in a promise.
      expect(client.query(submitted)).toBe(submitted);
      await ended;
      expect(rows).toEqual([{ n: 5 }]);
    } finally {
      client.release();
    }
  });
});
