import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { generateErPopulation } from '../../bench/er-population.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { seeded } from '../../src/demo/random.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolvePass } from '../../src/sync/resolve.ts';
import { erClientEvents } from '../support/er-client-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Order independence (issue 18 part 4): one data set — people with several noisy records each, households
 * sharing landlines and mobiles, agents' mobiles on leads, switchboards, recycled numbers — delivered in three
 * orders and batchings ends, after the resolution pass, in identical golden-record partitions. Streaming
 * decides each record on arrival, so before the pass the partitions may differ; the pass re-clusters every
 * neighbourhood as the batch engine would and repairs the difference as merges and moves with history.
 */
const rows = generateErPopulation({ households: 120, seed: 5, extras: 0.2 });
const events: BatchInputMessage[] = erClientEvents(rows, 'R');

/** The golden-record partition as a canonical string: each golden record's sorted source ids, sorted. */
async function partition(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: groups } = await c.query<{ ids: string[] }>(
      `select array_agg(source_id order by source_id) as ids from source_record where not deleted group by party_id`,
    );
    return groups.map((g) => g.ids.join(',')).sort();
  } finally {
    await c.end();
  }
}

describe('the same data in any order', () => {
  const orders: { name: string; messages: BatchInputMessage[]; batch: () => number }[] = [];
  const r = seeded(11);
  orders.push({ name: 'as generated, batches of 200', messages: events, batch: () => 200 });
  orders.push({ name: 'reversed, one at a time', messages: [...events].reverse(), batch: () => 1 });
  orders.push({ name: 'shuffled, batches of 1–60', messages: r.shuffle(events), batch: () => r.int(1, 60) });
  const dbs: TestDatabase[] = [];
  const before: string[][] = [];
  const after: string[][] = [];
  const repairs: number[] = [];

  beforeAll(async () => {
    for (const order of orders) {
      const db = await createTestDatabase();
      dbs.push(db);
      const orm = await openOrm(db.url, { poolMax: 2 });
      try {
        await migrate(orm);
        const deps = ingestDepsFor('', 'settle');
        const router = new TopicRouter(connectors);
        for (let i = 0; i < order.messages.length; ) {
          const n = order.batch();
          await ingestBatch(orm, router, `order-${i}`, order.messages.slice(i, i + n), deps);
          i += n;
        }
        before.push(await partition(db.url));
        const pass = await resolvePass(orm, deps.matcher, (em, changed) => deps.followUp.run(em, changed), {
          full: true,
        });
        repairs.push(pass.moved);
        after.push(await partition(db.url));
        // A second pass finds nothing left to repair: the partition is a fixed point.
        const again = await resolvePass(orm, deps.matcher, (em, changed) => deps.followUp.run(em, changed), {
          full: true,
        });
        expect(again.moved).toBe(0);
      } finally {
        await orm.close(true);
      }
    }
  }, 600_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('ends in identical partitions after the resolution pass', () => {
    process.stdout.write(
      `resolution order test: ${events.length} records; golden records before the pass ${before.map((p) => p.length).join(' / ')}, after ${after.map((p) => p.length).join(' / ')}; records moved ${repairs.join(' / ')}\n`,
    );
    expect(after[1]).toEqual(after[0]);
    expect(after[2]).toEqual(after[0]);
  });
});
