import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { openOrm, migrate } from '../src/db/orm.ts';
import { clientAttributes } from '../src/connectors/core-policy/mapping.ts';
import { coreEvent } from '../src/connectors/core-policy/fixtures/events.ts';
import { corePolicyConnector } from '../src/connectors/core-policy/index.ts';
import { applyBatch } from '../src/ingest/apply-batch.ts';
import { riskFollowUp } from '../src/risk/risk-work.ts';
import type { Route } from '../src/ingest/topic-router.ts';
import { generatePeople, type PersonRow } from '../src/demo/generate-people.ts';
import { createProbabilisticMatcher } from '../src/sync/match/probabilistic.matcher.ts';
import { exactResidentIdMatcher } from '../src/sync/match/exact-id.matcher.ts';
import type { Matcher } from '../src/sync/match/matcher.ts';
import type { PartyAttributes } from '../src/domain/canonical.ts';

/**
 * Streaming ingest with matching as the golden store grows: the same kind of events (half of them new copies of
 * people already in the store, half new people) are applied through the real apply step at 10,000, 100,000 and
 * 1,000,000 golden records, with the probabilistic matcher and, side by side, the exact-id baseline.
 * Target: per-event cost at 1,000,000 within 1.5× of the cost at 10,000.
 *   npm run bench:stream [-- MAX_GOLDEN]      (PostgreSQL at TEST_DATABASE_URL / 127.0.0.1:5432)
 */
const levels = [10_000, 100_000, 1_000_000].filter((n) => n <= Number(process.argv[2] ?? 1_000_000));
const eventsPerLevel = 2_000;
const runId = Date.now().toString(36);
const people = generatePeople(levels[levels.length - 1] as number, { seed: 99, duplicateRate: 0 });
const toRow = (p: PersonRow, clientNo: string): Record<string, string | number | null> => {
  const a = p.attributes;
  return {
    CLNTNUM: clientNo,
    CLTTYPE: 'P',
    SURNAME: a.familyName ?? null,
    GIVNAME: a.givenName ?? null,
    CLTSEX: a.sex ?? null,
    CLTDOB: a.birthDate ? Number(a.birthDate.replaceAll('-', '')) : 0,
    IDTYPE: a.idNumber ? '01' : null,
    IDNO: a.idNumber ?? null,
    MOBILE: a.phone ?? null,
    EMAIL: a.email ?? null,
    ADDR1: a.addressLine ?? null,
    ADDR2: null,
    ADDR3: null,
    POSTCODE: a.postcode ?? null,
    DTEUPD: 1_790_000_000_000_000,
  };
};

// BENCH_DB_URL reuses a database a previous run kept (BENCH_KEEP_DB=1), skipping the bulk load it already did.
const db = process.env.BENCH_DB_URL
  ? { url: process.env.BENCH_DB_URL, drop: async () => {} }
  : await createTestDatabase('hub_bench');
const orm = await openOrm(db.url, { poolMax: 4 });
const matcher = createProbabilisticMatcher();
// Bulk load through pg directly: array parameters (unnest) are passed as arrays, not expanded into lists.
const bulk = new pg.Pool({ connectionString: db.url, max: 1 });
try {
  await migrate(orm);
  const em = () => orm.em.fork();
  let loaded = Number(
    (await bulk.query(`select count(*)::int as n from source_record where system = 'bench-seed'`)).rows[0].n,
  );

  /** Bulk-loads golden records (one source record each) with their blocking keys, bypassing matching. */
  async function loadUpTo(target: number): Promise<void> {
    const chunk = 20_000;
    while (loaded < target) {
      const slice = people.slice(loaded, Math.min(target, loaded + chunk));
      const party: string[] = [],
        kind: string[] = [],
        name: (string | null)[] = [],
        key: (string | null)[] = [],
        dob: (string | null)[] = [];
      const rec: string[] = [],
        sid: string[] = [],
        attrs: string[] = [],
        profiles: string[] = [];
      const mkKey: string[] = [],
        mkRec: string[] = [];
      const cpParty: string[] = [],
        cpRec: string[] = [],
        cpValue: (string | null)[] = [],
        cpKey: (string | null)[] = [];
      const idParty: string[] = [],
        idRec: string[] = [],
        idValue: string[] = [];
      slice.forEach((p, k) => {
        const a: PartyAttributes = clientAttributes(toRow(p, `G${loaded + k}`));
        const partyId = randomUUID();
        const recordId = randomUUID();
        party.push(partyId);
        kind.push('PERSON');
        name.push(a.fullName);
        key.push(a.nameKey);
        dob.push(a.birthDate);
        rec.push(recordId);
        sid.push(`G${loaded + k}`);
        attrs.push(JSON.stringify(a));
        profiles.push(JSON.stringify(matcher.profile?.(a) ?? null));
        for (const mk of matcher.keys(a)) {
          mkKey.push(mk);
          mkRec.push(recordId);
        }
        for (const cp of a.contactPoints)
          if (cp.searchKey) {
            cpParty.push(partyId);
            cpRec.push(recordId);
            cpValue.push(cp.value);
            cpKey.push(cp.searchKey);
          }
        for (const id of a.identifiers)
          if (id.valid && id.value) {
            idParty.push(partyId);
            idRec.push(recordId);
            idValue.push(id.value);
          }
      });
      await bulk.query(
        `insert into party (id, kind, display_name, name_key, birth_date) select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[])`,
        [party, kind, name, key, dob],
      );
      await bulk.query(
        `insert into source_record (id, system, source_id, party_id, link_type, attributes, match_profile, source_version) select r, 'bench-seed', s, p, 'NEW', a::jsonb, m::jsonb, 1 from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[]) as t(r, s, p, a, m)`,
        [rec, sid, party, attrs, profiles],
      );
      await bulk.query(
        `insert into match_key (key_hash, source_record_id) select hashtextextended(k, 0), r from unnest($1::text[], $2::uuid[]) as t(k, r) on conflict do nothing`,
        [mkKey, mkRec],
      );
      await bulk.query(
        `insert into contact_point (id, party_id, source_record_id, kind, value, search_key, valid, issues) select gen_random_uuid(), p, r, 'MOBILE', v, k, true, '[]' from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) as t(p, r, v, k)`,
        [cpParty, cpRec, cpValue, cpKey],
      );
      await bulk.query(
        `insert into party_identifier (id, party_id, source_record_id, type, value, valid, issues) select gen_random_uuid(), p, r, 'RESIDENT_ID', v, true, '[]' from unnest($1::uuid[], $2::uuid[], $3::text[]) as t(p, r, v)`,
        [idParty, idRec, idValue],
      );
      loaded += slice.length;
    }
    // Steady state, as autovacuum leaves a table after a large insert: statistics and the visibility map are up
    // to date. Measuring straight after a bulk load would time heap fetches that index-only scans avoid later.
    await bulk.query('vacuum analyze');
  }

  async function measure(label: string, m: Matcher, golden: number, system: string): Promise<number> {
    // Half: a second copy of a person already in the store (traditional characters, other phone format);
    // half: someone new. Same recipe at every level.
    const events = [];
    for (let i = 0; i < eventsPerLevel; i += 1) {
      const p =
        i % 2 === 0
          ? (people[Math.floor((i / eventsPerLevel) * golden)] as PersonRow)
          : (generatePeople(1, { seed: golden + i, duplicateRate: 0 })[0] as PersonRow);
      events.push(coreEvent('client', 'r', toRow(p, `${system}${i}`)));
    }
    const route: Route = {
      connector: { ...corePolicyConnector, manifest: { ...corePolicyConnector.manifest, sourceSystem: system } },
      topic: `bench.${system}.${golden}`,
      contractTopic: 'corepol.LIFEDB.CLIENT',
    };
    const started = performance.now();
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500).map((e, k) => ({
        topic: route.topic,
        partition: 0,
        offset: String(i + k),
        key: Buffer.from(e.key),
        value: Buffer.from(e.value ?? ''),
        timestamp: null,
      }));
      await applyBatch(orm, 'bench', route, 0, chunk, { matcher: m, followUp: riskFollowUp('settle') });
    }
    const perEvent = (performance.now() - started) / events.length;
    console.log(`  ${label.padEnd(14)} ${perEvent.toFixed(3)} ms/event (${Math.round(1000 / perEvent)} events/s)`);
    return perEvent;
  }

  const results: { golden: number; engine: number; baseline: number }[] = [];
  for (const golden of levels) {
    const t = performance.now();
    await loadUpTo(golden);
    console.log(`golden records: ${golden} (bulk load ${Math.round((performance.now() - t) / 1000)} s)`);
    // A run id keeps a re-used database's earlier measurement events from making these ones stale no-ops.
    const engine = await measure('fellegi-sunter', matcher, golden, `fs${golden}-${runId}-`);
    const baseline = await measure('exact-id', exactResidentIdMatcher, golden, `ex${golden}-${runId}-`);
    results.push({ golden, engine, baseline });
  }
  const first = results[0];
  console.log('\ngolden      engine ms/event  ratio vs 10k   exact-id ms/event  ratio vs 10k   engine/exact-id');
  for (const r of results) {
    console.log(
      `${String(r.golden).padEnd(11)} ${r.engine.toFixed(3).padEnd(16)} ${(r.engine / (first?.engine ?? 1)).toFixed(2).padEnd(13)} ${r.baseline.toFixed(3).padEnd(18)} ${(r.baseline / (first?.baseline ?? 1)).toFixed(2).padEnd(14)} ${(r.engine / r.baseline).toFixed(2)}`,
    );
  }
  const last = results[results.length - 1];
  if (first && last && last !== first)
    console.log(
      `target: engine cost at ${last.golden} ≤ 1.5× cost at ${first.golden}: ${last.engine / first.engine <= 1.5 ? 'met' : 'NOT met'} (${(last.engine / first.engine).toFixed(2)}×)`,
    );
} finally {
  await bulk.end();
  await orm.close(true);
  if (process.env.BENCH_KEEP_DB) console.log(`kept database: BENCH_DB_URL=${db.url}`);
  else await db.drop();
}
