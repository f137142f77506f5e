import pg from 'pg';
import { connectors } from '../src/connectors/registry.ts';
import { migrate, openOrm } from '../src/db/orm.ts';
import { ingestBatch } from '../src/ingest/batch-source.ts';
import { TopicRouter } from '../src/ingest/topic-router.ts';
import { evaluateAlertsForParties } from '../src/risk/alerts.ts';
import { ingestDepsFor } from '../src/runtime/hub.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { generateRiskPopulation } from './risk-population.ts';

/**
 * Precision and recall of every alert rule on a generated insurer population (bench/risk-population.ts):
 * ordinary households, companies, agents' leads, and planted rings, bursts and early claims. The population
 * goes through the hub's own path (connectors → identity resolution → relationships and households → rules),
 * loaded as history in batches; the rules run at their defaults, with the holds set to 0 so that every finding
 * is an alert when the load returns. Then, side by side on the same data, the network rules as they counted
 * before relationships existed (every golden customer a party of its own).
 *   npm run bench:risk [-- --households 800]
 */
const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const population = generateRiskPopulation({ households: arg('households', 800), seed: arg('seed', 17) });
const db = await createTestDatabase('hub_bench_risk');
const orm = await openOrm(db.url, { poolMax: 2 });
const c = new pg.Client({ connectionString: db.url });
await c.connect();
try {
  await migrate(orm);
  await c.query(`update alert_rule set params = jsonb_set(params, '{holdSeconds}', '0') where params ? 'holdSeconds'`);
  const started = performance.now();
  await ingestBatch(orm, new TopicRouter(connectors), 'risk-bench', population.messages, ingestDepsFor());
  const seconds = (performance.now() - started) / 1000;
  const quarantined = Number((await c.query(`select count(*) from quarantined_event`)).rows[0].count);
  if (quarantined > 0) throw new Error(`${quarantined} generated messages were quarantined: the generator is wrong`);
  const golden = Number((await c.query(`select count(*) from party where status = 'ACTIVE'`)).rows[0].count);
  console.log(
    `population: ${population.people} people in ${population.households.length} multi-person households, ${population.messages.length} messages → ${golden} golden customers; loaded with risk settled in ${seconds.toFixed(1)} s (${Math.round(population.messages.length / seconds)} messages/s)`,
  );

  /** Open alerts per rule, as the client numbers of the customers they flag (a lead-only customer: L:<lead>). */
  async function flagged(): Promise<Map<string, Set<string>>> {
    const rows = (
      await c.query<{ rule_code: string; who: string }>(
        `select a.rule_code, coalesce(min(sr.source_id) filter (where sr.system = 'core-policy'), 'L:' || min(sr.source_id)) as who
           from alert a join source_record sr on sr.party_id = a.party_id where a.status <> 'CLOSED' group by a.id, a.rule_code`,
      )
    ).rows;
    const out = new Map<string, Set<string>>();
    for (const r of rows) out.set(r.rule_code, (out.get(r.rule_code) ?? new Set()).add(r.who));
    return out;
  }
  const familyMembers = new Set(population.households.flat());
  const networkRules = ['SHARED_CONTACT', 'SHARED_ADDRESS', 'SHARED_BANK_ACCOUNT'];
  function report(title: string, found: Map<string, Set<string>>, rules: string[]) {
    console.log(`\n${title}`);
    console.log('rule                    truth  flagged  correct  precision  recall  on families');
    let worst = { precision: 1, recall: 1 };
    for (const rule of rules) {
      const truth = population.truth[rule] ?? new Set<string>();
      const got = found.get(rule) ?? new Set<string>();
      const tp = [...got].filter((x) => truth.has(x)).length;
      const precision = got.size === 0 ? (truth.size === 0 ? 1 : 0) : tp / got.size;
      const recall = truth.size === 0 ? 1 : tp / truth.size;
      worst = { precision: Math.min(worst.precision, precision), recall: Math.min(worst.recall, recall) };
      const families = [...got].filter((x) => familyMembers.has(x)).length;
      console.log(
        `${rule.padEnd(22)} ${String(truth.size).padStart(6)} ${String(got.size).padStart(8)} ${String(tp).padStart(8)} ${precision.toFixed(3).padStart(10)} ${recall.toFixed(3).padStart(7)} ${String(families).padStart(12)}`,
      );
    }
    const network = networkRules.reduce((n, r) => n + (found.get(r)?.size ?? 0), 0);
    console.log(
      `network alerts in all: ${network}; lowest precision ${worst.precision.toFixed(3)}, lowest recall ${worst.recall.toFixed(3)}`,
    );
    return worst;
  }
  const result = report('with relationships and households (the hub)', await flagged(), Object.keys(population.truth));

  // Households found against the true ones, as pairs of members.
  const members = (
    await c.query<{ household_id: string; who: string }>(
      `select m.household_id::text, min(sr.source_id) as who from household_member m join source_record sr on sr.party_id = m.party_id and sr.system = 'core-policy' group by 1, m.party_id`,
    )
  ).rows;
  const found = new Map<string, string[]>();
  for (const m of members) found.set(m.household_id, [...(found.get(m.household_id) ?? []), m.who]);
  const pairs = (groups: Iterable<string[]>) =>
    new Set([...groups].flatMap((g) => g.flatMap((a) => g.filter((b) => a < b).map((b) => `${a}|${b}`))));
  const truePairs = pairs(population.households);
  const foundPairs = pairs(found.values());
  const both = [...foundPairs].filter((p) => truePairs.has(p)).length;
  console.log(
    `\nhouseholds: ${found.size} found for ${population.households.length} true; member pairs precision ${(both / Math.max(1, foundPairs.size)).toFixed(3)}, recall ${(both / Math.max(1, truePairs.size)).toFixed(3)}`,
  );
  const proposals = (
    await c.query<{ contact: string; holders: number }>(
      `select contact, holders from network_exclusion where status = 'PROPOSED' order by holders desc`,
    )
  ).rows;
  console.log(
    `exclusions proposed by frequency: ${proposals.length} (${proposals.map((p) => `${p.contact} held by ${p.holders}`).join(', ')})`,
  );

  // Side by side: the same data with every golden customer counted as a party of its own.
  await c.query(`delete from household_member; delete from relationship`);
  const everyone = (await c.query<{ id: string }>(`select id::text from party where status = 'ACTIVE'`)).rows.map(
    (r) => r.id,
  );
  await orm.em.fork().transactional((em) => evaluateAlertsForParties(em, everyone));
  const before = report('without relationships (every customer counted alone)', await flagged(), networkRules);
  console.log(
    `\nresult: lowest precision ${result.precision.toFixed(3)} (target ≥ 0.95), lowest recall ${result.recall.toFixed(3)} (target 1.0); network rules without relationships: lowest precision ${before.precision.toFixed(3)}`,
  );
} finally {
  await c.end();
  await orm.close(true);
  await db.drop();
}
