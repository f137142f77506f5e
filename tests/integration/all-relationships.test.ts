import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm, type Orm } from '../../src/db/orm.ts';
import { populationChunks } from '../../src/demo/generate-population.ts';
import type { IngestDeps } from '../../src/ingest/apply-batch.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { refreshAllRelationships } from '../../src/relations/all-relationships.ts';
import { refreshRelations } from '../../src/relations/refresh.ts';
import { rescanAll } from '../../src/risk/rescan.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The full rescan derives every relationship of the store at once (src/relations/all-relationships.ts) instead of
 * customer by customer: it must store exactly the relationships, evidence and households that the per-batch
 * derivation gives when every customer is in one batch, report who changed, and bring a drifted table back.
 */
type Edge = { a: string; b: string; kind: string; family: boolean; evidence: unknown };

describe('relationships of the whole store', () => {
  let db: TestDatabase;
  let orm: Orm;
  const edges = async () =>
    orm.em
      .fork()
      .execute<Edge[]>(
        `select party_a::text as a, party_b::text as b, kind, family, evidence from relationship order by 1, 2, 3`,
      );
  /** Households as sets of members (their ids are random). */
  const households = async () =>
    (
      await orm.em
        .fork()
        .execute<{ members: string[] }[]>(
          `select array_agg(party_id::text order by party_id) as members from household_member group by household_id`,
        )
    )
      .map((h) => h.members.join(','))
      .sort();
  const clear = () =>
    orm.em.fork().execute(`delete from household_member; delete from household_history; delete from household;
                             delete from relationship`);

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await openOrm(db.url, { poolMax: 4 });
    await migrate(orm);
    // Risk follow-ups off, as in an initial load: relationships start empty.
    const deps: IngestDeps = { ...ingestDepsFor(), followUp: { phase: 'none', run: async () => {} } };
    const router = new TopicRouter(connectors);
    for (const [k, chunk] of [...populationChunks({ customers: 300, chunkPeople: 300 })].entries())
      await ingestBatch(orm, router, `population-${k}`, chunk.messages, deps);
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('stores what the per-batch derivation stores with everyone in one batch, households included', async () => {
    const active = await orm.em
      .fork()
      .execute<{ id: string }[]>(`select id::text as id from party where status = 'ACTIVE' order by id`);
    // One batch of the per-batch derivation holds at most 500 customers.
    expect(active.length).toBeLessThanOrEqual(500);
    await orm.em.fork().transactional((em) =>
      refreshRelations(
        em,
        active.map((p) => p.id),
      ),
    );
    const expected = await edges();
    const expectedHouseholds = await households();
    const kinds = new Set(expected.map((e) => e.kind));
    // The population gives both kinds of evidence: policy co-holders and shared homes.
    expect(kinds.has('CO_RESIDENT')).toBe(true);
    expect([...kinds].some((k) => k !== 'CO_RESIDENT')).toBe(true);
    expect(expectedHouseholds.length).toBeGreaterThan(5);

    await clear();
    const r = await rescanAll(orm, '');
    expect(r.customers).toBe(active.length);
    expect(await edges()).toEqual(expected);
    expect(await households()).toEqual(expectedHouseholds);
  });

  it('reports no change when nothing changed, and repairs a drifted table', async () => {
    const expected = await edges();
    expect(await orm.em.fork().transactional((em) => refreshAllRelationships(em))).toEqual([]);

    const [kept, edited, removed] = expected as [Edge, Edge, Edge];
    const [x, y] = [kept.a, edited.b].sort() as [string, string];
    await orm.em.fork().execute(
      `update relationship set evidence = '{"policies": ["NOT-A-POLICY"]}' where party_a = '${edited.a}' and party_b = '${edited.b}' and kind = '${edited.kind}';
       delete from relationship where party_a = '${removed.a}' and party_b = '${removed.b}' and kind = '${removed.kind}';
       insert into relationship (party_a, party_b, kind, family, evidence, source)
       values ('${x}', '${y}', 'SPOUSE', true, '{}', 'test') on conflict do nothing`,
    );
    const changed = await orm.em.fork().transactional((em) => refreshAllRelationships(em));
    expect(changed).toEqual([...new Set([edited.a, edited.b, removed.a, removed.b, x, y])].sort());
    expect(await edges()).toEqual(expected);
  });
  it('gives no shared home to customers whose address was never captured (a placeholder, stored with an empty key)', async () => {
    // Two customers of one family name who share nothing: stores mapped before placeholders lost their key hold
    // "-" as a valid address with the key ''. A real shared address between the same two makes them co-residents,
    // so the check below can fail.
    const [pair] = await orm.em.fork().execute<{ a: string; b: string; ra: string; rb: string }[]>(
      `select pa.id::text as a, pb.id::text as b,
              (select id::text from source_record where party_id = pa.id limit 1) as ra,
              (select id::text from source_record where party_id = pb.id limit 1) as rb
         from party pa join party pb on pb.family_name = pa.family_name and pb.id > pa.id
        where pa.status = 'ACTIVE' and pb.status = 'ACTIVE' and pa.kind = 'PERSON' and pb.kind = 'PERSON'
          and not exists (select 1 from relationship r where r.party_a = pa.id and r.party_b = pb.id)
        limit 1`,
    );
    if (!pair) throw new Error('the population has no two unrelated customers of one family name');
    const coResident = async () =>
      (
        await orm.em
          .fork()
          .execute<{ n: number }[]>(
            `select count(*)::int as n from relationship where party_a = ? and party_b = ? and kind = 'CO_RESIDENT'`,
            [pair.a, pair.b],
          )
      )[0]?.n;
    const give = (key: string, value: string) =>
      orm.em.fork().execute(
        `delete from contact_point where kind = 'ADDRESS' and party_id in (?, ?);
         insert into contact_point (id, party_id, source_record_id, kind, value, raw, search_key, valid, issues)
         values (gen_random_uuid(), ?, ?, 'ADDRESS', ?, ?, ?, true, '[]'), (gen_random_uuid(), ?, ?, 'ADDRESS', ?, ?, ?, true, '[]')`,
        [pair.a, pair.b, pair.a, pair.ra, value, value, key, pair.b, pair.rb, value, value, key],
      );
    const derive = async () => {
      await orm.em.fork().transactional((em) => refreshRelations(em, [pair.a, pair.b]));
      const perBatch = await coResident();
      await orm.em.fork().transactional((em) => refreshAllRelationships(em));
      return [perBatch, await coResident()];
    };
    await give('', '-');
    expect(await derive()).toEqual([0, 0]);
    await give('上海市徐汇区漕溪北路88号', '上海市徐汇区漕溪北路88号');
    expect(await derive()).toEqual([1, 1]);
  });
  it('makes those of a crowded address who share a landline one home, and no one else there', async () => {
    // Nine customers at one address written without its flat (more than maxHousehold: a building, no home by
    // itself); two of them share a landline — one flat's phone — and are co-residents, the seven others are not.
    const people = await orm.em.fork().execute<{ id: string; record: string }[]>(
      `select p.id::text as id, (select id::text from source_record where party_id = p.id limit 1) as record
         from party p where p.status = 'ACTIVE' and p.kind = 'PERSON'
          and not exists (select 1 from relationship r where r.party_a = p.id or r.party_b = p.id)
        order by p.id desc limit 9`,
    );
    expect(people.length).toBe(9);
    const ids = people.map((p) => p.id);
    const idArray = `{${ids.join(',')}}`; // as one parameter (em.execute would spread an array)
    const em = orm.em.fork();
    await em.execute(`delete from contact_point where kind in ('ADDRESS', 'LANDLINE') and party_id = any(?::uuid[])`, [
      idArray,
    ]);
    for (const [i, p] of people.entries()) {
      await em.execute(
        `insert into contact_point (id, party_id, source_record_id, kind, value, raw, search_key, valid, issues)
         values (gen_random_uuid(), ?, ?, 'ADDRESS', '杭州市西湖区文三路9号', '杭州市西湖区文三路9号', '杭州市西湖区文三路9号', true, '[]')`,
        [p.id, p.record],
      );
      if (i < 2)
        await em.execute(
          `insert into contact_point (id, party_id, source_record_id, kind, value, raw, search_key, valid, issues)
           values (gen_random_uuid(), ?, ?, 'LANDLINE', '0571-88776655', '0571-88776655', '057188776655', true, '[]')`,
          [p.id, p.record],
        );
    }
    const coResidents = async () =>
      orm.em.fork().execute<{ a: string; b: string; evidence: { basis: string[] } }[]>(
        `select party_a::text as a, party_b::text as b, evidence from relationship
            where kind = 'CO_RESIDENT' and party_a = any(?::uuid[]) and party_b = any(?::uuid[])`,
        [idArray, idArray],
      );
    const [x, y] = [ids[0], ids[1]].sort() as [string, string];
    await orm.em.fork().transactional((em) => refreshRelations(em, ids));
    const perBatch = await coResidents();
    expect(perBatch.map((e) => [e.a, e.b])).toEqual([[x, y]]);
    expect(perBatch[0]?.evidence.basis.slice(0, 2)).toEqual(['SAME_ADDRESS', 'SAME_LANDLINE']);
    await orm.em
      .fork()
      .execute(`delete from relationship where party_a = any(?::uuid[]) or party_b = any(?::uuid[])`, [
        idArray,
        idArray,
      ]);
    await orm.em.fork().transactional((em) => refreshAllRelationships(em));
    expect(await coResidents()).toEqual(perBatch);
  });
});
