import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolveAround, resolvePass } from '../../src/sync/resolve.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { identicalStores, partition, resolutionEvents, type Stores } from '../support/resolution-stores.ts';

/**
 * The resolution pass must end in one partition whichever golden records it starts from (found by the soak: two
 * stores fed the same messages in different orders disagreed on 7–10 of 32,000 records after their full passes).
 * Two identical stores are repaired one seed at a time, in opposite orders, with neighbourhoods capped at 5 golden
 * records — the cap a store of millions meets at 5,000 when neighbourhoods chain. When neighbourhoods were closures
 * over every shared block, households and shared phones and addresses chained this population into components the
 * cap cut into seed-dependent pieces, and the stores ended apart from the full pass (checked on that code: 678
 * golden records against the full pass's 679); closed under the links clustering follows, neighbourhoods stay whole below the cap
 * and both stores end in the partition of a full pass.
 */
const events = resolutionEvents(150);
const cap = 5;

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Active golden records, each named by its smallest source key (the same in both stores). */
const goldenRecords = async (url: string): Promise<{ id: string; key: string }[]> =>
  query<{ id: string; key: string }>(
    url,
    `select p.id, min(sr.system || '/' || sr.source_id) as key from party p join source_record sr on sr.party_id = p.id
      where p.status = 'ACTIVE' and not sr.deleted group by p.id order by key`,
  );

describe('resolution pass from any seeds', () => {
  const deps = ingestDepsFor('', 'settle');
  let stores: Stores;
  let dbs: TestDatabase[] = [];
  let orms: MikroORM[] = [];

  beforeAll(async () => {
    stores = await identicalStores('hub_resolution_seeds', 3, events, deps);
    ({ dbs, orms } = stores);
  }, 300_000);
  afterAll(() => stores?.drop());

  it('ends in the partition of a full pass, one seed at a time in either order, under a small cap', async () => {
    const urls = dbs.map((d) => d.url) as [string, string, string];
    const before = await partition(urls[0]);
    expect(await partition(urls[1])).toEqual(before);
    expect(await partition(urls[2])).toEqual(before);

    const full = await resolvePass(orms[2] as MikroORM, deps.matcher, async () => {}, { full: true });
    expect(full.moved).toBeGreaterThan(0);
    const expected = await partition(urls[2]);

    const moved: number[] = [];
    for (const [k, descending] of [
      [0, false],
      [1, true],
    ] as const) {
      const orm = orms[k] as MikroORM;
      const seeds = (await goldenRecords(urls[k])).map((g) => g.id);
      if (descending) seeds.reverse();
      let total = 0;
      for (const seed of seeds) {
        const r = await orm.em.fork().transactional((tx) => resolveAround(tx, deps.matcher, [seed], cap));
        total += r.moved;
      }
      moved.push(total);
    }
    expect(moved[0]).toBeGreaterThan(0);
    expect(await partition(urls[0])).toEqual(expected);
    expect(await partition(urls[1])).toEqual(expected);
    // And a full pass over either finds nothing left to repair.
    const again = await resolvePass(orms[0] as MikroORM, deps.matcher, async () => {}, { full: true });
    expect(again.moved).toBe(0);
  }, 600_000);
});
