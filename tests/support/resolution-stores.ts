import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { seeded } from '../../src/demo/random.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import type { IngestDeps } from '../../src/ingest/apply-batch.ts';
import { generateErPopulation } from '../../bench/er-population.ts';
import { erClientEvents } from './er-client-events.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

/**
 * Identical stores for the resolution pass's tests: each its own database, fed the same events in the same
 * batches of 1–40 (a fixed seed), so that what a pass does to one can be compared with what it does to another.
 */
/** The resolution tests' traffic: `households` of the ER population as client events, shuffled (fixed seeds). */
export const resolutionEvents = (households: number): BatchInputMessage[] =>
  seeded(3).shuffle(
    erClientEvents(generateErPopulation({ households, seed: 7, extras: 0.2 }), 'R', { phones: 'mobile' }),
  );

export type Stores = { dbs: TestDatabase[]; orms: MikroORM[]; drop(): Promise<void> };

export async function identicalStores(
  name: string,
  count: number,
  events: readonly BatchInputMessage[],
  deps: IngestDeps,
): Promise<Stores> {
  const dbs: TestDatabase[] = [];
  const orms: MikroORM[] = [];
  const stores: Stores = {
    dbs,
    orms,
    async drop() {
      for (const orm of orms) await orm.close(true);
      for (const db of dbs) await db.drop();
    },
  };
  // A store that fails to build (its migration, its events) takes the ones built before it along.
  try {
    for (let k = 0; k < count; k += 1) {
      const db = await createTestDatabase(name);
      dbs.push(db);
      const orm = await openOrm(db.url, { poolMax: 2 });
      orms.push(orm);
      await migrate(orm);
      const router = new TopicRouter(connectors);
      const r = seeded(11);
      for (let i = 0; i < events.length; ) {
        const n = r.int(1, 40);
        await ingestBatch(orm, router, `order-${i}`, events.slice(i, i + n), deps);
        i += n;
      }
    }
  } catch (e) {
    await stores.drop().catch(() => {});
    throw e;
  }
  return stores;
}

/** The store's partition: each golden record as its live records' source ids, sorted. */
export async function partition(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ ids: string }>(
      `select string_agg(source_id, ',' order by source_id) as ids from source_record where not deleted group by party_id`,
    );
    return rows.map((g) => g.ids).sort();
  } finally {
    await c.end();
  }
}
