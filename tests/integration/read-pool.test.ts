import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CompiledQuery } from 'kysely';
import type { MikroORM } from '@mikro-orm/postgresql';
import { openOrm } from '../../src/db/orm.ts';
import { openReadPool, type ReadPool } from '../../src/db/read-pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The GraphQL read pool keeps the connections a burst opened: when pg-pool's default 10 s idle timeout closed them,
 * the next burst paid for fresh PostgreSQL backends (catalogue caches, the read statements planned again), which
 * stalled the customer 360 for 100–400 ms in bench:graphql.
 */
describe('GraphQL read pool', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let reads: ReadPool;
  let admin: pg.Client;
  const burst = 4;
  const marker = 'select pg_sleep(0.2) as read_pool_burst';

  beforeAll(async () => {
    db = await createTestDatabase('hub_read_pool');
    orm = await openOrm(db.url, { poolMax: 2 });
    reads = openReadPool(orm, { max: burst, statementTimeoutMs: 5_000 });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await reads?.close();
    await orm?.close(true);
    await db?.drop();
  });

  const runBurst = () =>
    Promise.all(Array.from({ length: burst }, () => reads.executeQuery(CompiledQuery.raw(marker))));
  const readBackends = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = current_database() and query = $1 order by pid`,
      [marker],
    );
    return rows.map((r) => r.pid);
  };

  it('keeps a burst’s connections through a quiet spell longer than the idle timeout and reuses them', async () => {
    await runBurst();
    const opened = await readBackends();
    expect(opened).toHaveLength(burst);
    // pg-pool's default idle timeout is 10 s: past it, connections above the pool's minimum are closed.
    await new Promise((r) => setTimeout(r, 11_500));
    expect(await readBackends()).toEqual(opened);
    await runBurst();
    expect(await readBackends()).toEqual(opened);
  });
});
