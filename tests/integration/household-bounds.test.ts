import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../../src/db/bound-sql.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { oversizedHouseholdMembers, refreshHouseholds } from '../../src/relations/households.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Family edges chain through in-laws: on bench:ingest's store a fifth of all customers formed one component. A
 * household is a component of at most 50 customers; the customers of a bigger one have none, so the network
 * rules do not count thousands of people as one party — and deriving it does not walk the whole chain.
 */
describe('household bounds', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_household_bounds');
    orm = await openOrm(db.url, { poolMax: 2 });
    await migrate(orm);
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  const people = async (n: number): Promise<string[]> => {
    const ids = Array.from({ length: n }, () => randomUUID());
    await executeBound(orm.em.fork(), `insert into party (id, kind) select unnest(?::uuid[]), 'PERSON'`, [ids]);
    return ids;
  };
  /** Family edges between consecutive customers of `chain` (a line of relatives). */
  const link = async (chain: readonly string[]) => {
    const pairs = chain.slice(1).map((b, i) => [chain[i] as string, b].sort() as [string, string]);
    await executeBound(
      orm.em.fork(),
      `insert into relationship (party_a, party_b, kind, family, evidence, source)
         select a, b, 'FAMILY', true, '{}', 'test' from unnest(?::uuid[], ?::uuid[]) as t(a, b) on conflict do nothing`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
  };
  const unlink = async (a: string, b: string) => {
    const [x, y] = [a, b].sort();
    await orm.em.fork().execute(`delete from relationship where party_a = ? and party_b = ?`, [x, y]);
  };
  const refresh = (seeds: string[]) => orm.em.fork().transactional((em) => refreshHouseholds(em, seeds));
  const householdsOf = async (ids: readonly string[]): Promise<(string | null)[]> => {
    const rows = await executeBound<{ party_id: string; household_id: string }[]>(
      orm.em.fork(),
      `select party_id::text as party_id, household_id::text as household_id from household_member where party_id = any(?::uuid[])`,
      [ids],
    );
    const of = new Map(rows.map((r) => [r.party_id, r.household_id]));
    return ids.map((id) => of.get(id) ?? null);
  };

  it('makes a line of 40 relatives one household and leaves a line of 80 without one', async () => {
    const small = await people(40);
    const big = await people(80);
    await link(small);
    await link(big);
    const moved = await refresh([small[0] as string, big[40] as string]);
    const smallHomes = await householdsOf(small);
    expect(new Set(smallHomes).size).toBe(1);
    expect(smallHomes[0]).not.toBeNull();
    expect(await householdsOf(big)).toEqual(big.map(() => null));
    expect([...moved].sort()).toEqual([...small].sort());
  });

  it('dissolves a household whole when a new edge joins it to a component too big, and forms it again when cut off', async () => {
    const family = await people(30);
    const crowd = await people(60);
    await link(family);
    await link(crowd);
    await refresh([family[0] as string, crowd[0] as string]);
    const before = await householdsOf(family);
    expect(new Set(before).size).toBe(1);
    expect(before[0]).not.toBeNull();

    // The family's last member marries into the crowd's first: 90 customers, no home. Everyone in the family
    // leaves, also those the walk (stopped past 50) never reached.
    await link([family[29] as string, crowd[0] as string]);
    const moved = await refresh([family[29] as string, crowd[0] as string]);
    expect(await householdsOf(family)).toEqual(family.map(() => null));
    expect(await householdsOf(crowd)).toEqual(crowd.map(() => null));
    expect([...moved].sort()).toEqual([...family].sort());
    const [retired] = await orm.em
      .fork()
      .execute<{ status: string }[]>(`select status from household where id = ?`, [before[0]]);
    expect(retired?.status).toBe('RETIRED');

    // Divorced again: the family is a home of its own once more.
    await unlink(family[29] as string, crowd[0] as string);
    await refresh([family[29] as string, crowd[0] as string]);
    const after = await householdsOf(family);
    expect(new Set(after).size).toBe(1);
    expect(after[0]).not.toBeNull();
    expect(await householdsOf(crowd)).toEqual(crowd.map(() => null));
  });

  it('keeps the part of a split household that is a home, when the other part is dissolved in a later refresh', async () => {
    const [a, b, c, d] = (await people(4)) as [string, string, string, string];
    const crowd = await people(60);
    await link([a, b, c]);
    await link(crowd);
    await refresh([a]);
    const [home] = await householdsOf([a]);
    expect(await householdsOf([a, b, c])).toEqual([home, home, home]);
    // b and c part, c marries d, a marries into the crowd; refreshed in two chunks, as the rescan does.
    await unlink(b, c);
    await link([c, d]);
    await link([a, crowd[0] as string]);
    await refresh([c, d]);
    await refresh([a, b]);
    const [cd] = await householdsOf([c]);
    expect(cd).not.toBeNull();
    expect(await householdsOf([a, b, c, d])).toEqual([null, null, cd, cd]);
  });

  // What `hub risk rescan` adds to its seeds (src/risk/rescan.ts); the rescan itself would also re-derive every
  // relationship from the sources, and this test's relationships have none.
  it('dissolves, from the rescan seeds, a household formed before households were bounded', async () => {
    const many = await people(70);
    await link(many.slice(0, 30));
    await refresh([many[0] as string]);
    // As an older hub left it: everyone in one household, though only the first 30 are related.
    const [old] = await householdsOf([many[0] as string]);
    await executeBound(
      orm.em.fork(),
      `insert into household_member (party_id, household_id) select unnest(?::uuid[]), ?::uuid on conflict do nothing`,
      [many.slice(30), old],
    );
    const seeds = await oversizedHouseholdMembers(orm.em.fork());
    expect([...seeds].sort()).toEqual([...many].sort());
    await refresh(seeds);
    const after = await householdsOf(many);
    expect(new Set(after.slice(0, 30)).size).toBe(1);
    expect(after[0]).not.toBeNull();
    expect(after.slice(30)).toEqual(many.slice(30).map(() => null));
  });

  it('keeps a customer a steward pinned where the steward put them', async () => {
    const family = await people(10);
    const crowd = await people(60);
    await link(family);
    await link(crowd);
    await refresh([family[0] as string]);
    const [home] = await householdsOf([family[0] as string]);
    await orm.em.fork().execute(`update household_member set pinned = true where party_id = ?`, [family[1]]);
    await link([family[9] as string, crowd[0] as string]);
    await refresh([family[9] as string]);
    expect(await householdsOf([family[1] as string])).toEqual([home]);
    // Not walked through the pinned customer: the one before it is cut off from the crowd and alone.
    expect(await householdsOf([family[0] as string, family[2] as string])).toEqual([null, null]);
  });
});
