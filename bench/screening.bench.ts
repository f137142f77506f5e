import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { migrate, openOrm } from '../src/db/orm.ts';
import { entryKeys, normaliseEntry, screenParty } from '../src/risk/screening.ts';
import { generatePeople } from '../src/demo/generate-people.ts';
import { nameKey } from '../src/domain/normalize/index.ts';

/**
 * Screening one customer against 1,000 and against 100,000 active blacklist entries, side by side in one run
 * (PostgreSQL at TEST_DATABASE_URL / 127.0.0.1:5432). Screening looks up the customer's own hashed keys, so its
 * cost should not follow the size of the lists.
 *   npm run bench:screening
 */
const customers = 1_000;
const db = await createTestDatabase('hub_bench_screen');
const orm = await openOrm(db.url, { poolMax: 2 });
const bulk = new pg.Pool({ connectionString: db.url, max: 1 });
try {
  await migrate(orm);
  const people = generatePeople(customers + 100_000, { seed: 5, duplicateRate: 0 });
  // Customers: golden records with an id number, a phone and a name.
  const partyIds: string[] = [];
  for (const p of people.slice(0, customers)) {
    const id = randomUUID();
    partyIds.push(id);
    await bulk.query(`insert into party (id, kind, name_key, birth_date) values ($1, 'PERSON', $2, $3)`, [
      id,
      nameKey(`${p.attributes.familyName}${p.attributes.givenName}`),
      p.attributes.birthDate,
    ]);
    const rec = randomUUID();
    await bulk.query(
      `insert into source_record (id, system, source_id, party_id, source_version) values ($1, 'bench', $2, $3, 1)`,
      [rec, p.recordId, id],
    );
    if (p.attributes.idNumber)
      await bulk.query(
        `insert into party_identifier (id, party_id, source_record_id, type, value, valid, issues) values (gen_random_uuid(), $1, $2, 'RESIDENT_ID', $3, true, '[]')`,
        [id, rec, p.attributes.idNumber],
      );
    if (p.attributes.phone)
      await bulk.query(
        `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid, issues) values (gen_random_uuid(), $1, $2, 'MOBILE', $3, $3, true, '[]')`,
        [id, rec, p.attributes.phone],
      );
  }
  let loaded = 0;
  // Entries: other people's identifiers, plus every 10th customer's id number (so screening finds real hits).
  async function loadEntries(target: number) {
    while (loaded < target) {
      const n = Math.min(10_000, target - loaded);
      const ids: string[] = [],
        idn: (string | null)[] = [],
        names: (string | null)[] = [],
        phones: (string | null)[] = [],
        births: (string | null)[] = [],
        keyHash: string[] = [],
        keyEntry: string[] = [];
      for (let k = 0; k < n; k += 1) {
        const i = loaded + k;
        const source = i % 10 === 0 && i / 10 < customers ? people[i / 10] : people[customers + i];
        const a = source!.attributes;
        const entry = normaliseEntry({
          idNumber: a.idNumber ?? null,
          fullName: `${a.familyName}${a.givenName}`,
          birthDate: a.birthDate ?? null,
          phone: a.phone ?? null,
          bankAccount: null,
          creditCode: null,
        });
        const id = randomUUID();
        ids.push(id);
        idn.push(entry.idNumber);
        names.push(entry.nameKey);
        phones.push(entry.phoneKey);
        births.push(entry.birthDate);
        for (const key of entryKeys(entry)) keyHash.push(key), keyEntry.push(id);
      }
      await bulk.query(
        `insert into blacklist_entry (id, list, status, id_number, name_key, phone_key, birth_date, reason, proposed_by, approved_by) select i, 'INTERNAL_FRAUD', 'ACTIVE', n, k, p, b, 'bench', 'a', 'b' from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[]) as t(i, n, k, p, b)`,
        [ids, idn, names, phones, births],
      );
      await bulk.query(
        `insert into blacklist_key (key_hash, entry_id) select hashtextextended(k, 0), e from unnest($1::text[], $2::uuid[]) as t(k, e) on conflict do nothing`,
        [keyHash, keyEntry],
      );
      loaded += n;
    }
    await bulk.query('analyze');
  }
  const results: { entries: number; ms: number; hits: number }[] = [];
  for (const target of [1_000, 100_000]) {
    await loadEntries(target);
    const em = orm.em.fork();
    let hits = 0;
    const started = performance.now();
    for (const id of partyIds) hits += (await screenParty(em, id)).length;
    const ms = (performance.now() - started) / partyIds.length;
    results.push({ entries: target, ms, hits });
    console.log(
      `${String(target).padStart(7)} entries: ${ms.toFixed(3)} ms per customer screened (${hits} hits over ${customers} customers)`,
    );
  }
  console.log(`ratio 100,000 / 1,000 entries: ${((results[1]?.ms ?? 0) / (results[0]?.ms ?? 1)).toFixed(2)}x`);
} finally {
  await bulk.end();
  await orm.close(true);
  await db.drop();
}
