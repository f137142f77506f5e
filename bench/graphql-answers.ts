import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { signToken } from '../src/auth/viewer.ts';
import { startHub } from '../src/runtime/hub.ts';

/**
 * The hub's GraphQL answers on an already seeded database (e.g. `npm run bench:graphql -- --keep`), written to a
 * file one answer a line (role, document, sample, the response body exactly as sent), so that two versions of
 * the read path can be compared byte for byte:
 *   node bench/graphql-answers.ts --database URL --out before.jsonl   (on the old code)
 *   node bench/graphql-answers.ts --database URL --out after.jsonl    (on the new code); cmp before.jsonl after.jsonl
 * Samples (fixed seed): random active customers, the ones with the most policies and with the most historical
 * roles; their mobile numbers, names and source keys. Documents: full 360s with sources, lineage, history and
 * source records; the benchmark's 360 and phone search; fragments, aliases and policy page arguments (including
 * the next page after a cursor); two customers' reads in one operation; searches by phone and name; `node`;
 * `customerBySource`. Roles: CHANNEL_APP, DATA_STEWARD, UNDERWRITER (each masks differently).
 */
const { values: args } = parseArgs({
  options: {
    database: { type: 'string' },
    out: { type: 'string' },
    customers: { type: 'string', default: '60' },
  },
});
if (!args.database || !args.out) throw new Error('usage: node bench/graphql-answers.ts --database URL --out FILE');

const source = `source { system sourceId sourceTime event { eventId sourceVersion sourceTime } }`;
const participant = `role beneficiaryOrder sharePercent current clientSourceId`;
const policy = `id system policyNo productCode status commencementDate paidToDate sumInsured premium billingFrequency
  channel agentCode covers { coverage rider isMainCover productCode sumInsured premium status }`;
const scalars = `__typename id kind status displayName familyName givenName birthDate sex occupationCode version updatedAt`;

const documents: Record<string, string> = {
  full360: `query Full($id: ID!) { customer(id: $id) { ${scalars}
    lineage { attribute ${source} }
    identifiers { type value valid issues ${source} }
    contactPoints { kind value valid issues validFrom ${source} }
    sourceRecords { system sourceId linkType linkScore linkedAt sourceTime sourceVersion deleted raw }
    history { version cause detail at }
    policies(first: 100) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor roles { ${participant} } node { ${policy}
        participants(includeHistory: true) { ${participant} customer { id displayName } } } } } } }`,
  bench360: `query Customer360($id: ID!) { customer(id: $id) {
    id kind status displayName familyName givenName birthDate sex version updatedAt
    identifiers { type value valid issues } contactPoints { kind value valid issues validFrom }
    policies(first: 100) { totalCount edges { roles { ${participant} }
      node { ${policy} participants { ${participant} } } } } } }`,
  fragments: `query Frag($id: ID!) { customer(id: $id) { ...C
    p1: policies(first: 2) { totalCount pageInfo { endCursor hasNextPage } edges { cursor node { policyNo } } }
    hist: policies(includeHistory: true, role: INSURED) { totalCount edges { roles { role current } node { policyNo covers { rider } } } } } }
    fragment C on Customer { id displayName ... on Customer { contactPoints(kinds: [MOBILE]) { value } } identifiers { type value }
      policies(first: 2) { edges { node { policyNo participants { role } } } } }`,
  nextPage: `query Next($id: ID!, $after: String) { customer(id: $id) { id
    policies(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor roles { role } node { policyNo covers { rider } participants { role } } } } } }`,
  twoRoots: `query Two($id: ID!) { a: customer(id: $id) { version displayName } b: customer(id: $id) { contactPoints { kind value } } }`,
  node: `query Node($id: ID!) { node(id: $id) { id ... on Customer { displayName contactPoints { value }
    policies { totalCount edges { node { policyNo } } } } } }`,
  phone: `query FindByPhone($phone: String!) { searchCustomers(query: { phone: $phone }) {
    edges { node { id status displayName contactPoints { kind value valid } } } } }`,
  phoneFull: `query Phone($phone: String!) { searchCustomers(query: { phone: $phone }, first: 5) {
    pageInfo { hasNextPage endCursor } edges { cursor score node { id displayName identifiers { value }
      policies(first: 3) { totalCount edges { node { policyNo covers { rider } } } } } } } }`,
  name: `query Name($name: String!) { searchCustomers(query: { name: $name }, first: 5) {
    pageInfo { hasNextPage endCursor } edges { cursor score node { id displayName contactPoints { value } } } } }`,
  bySource: `query BySource($system: String!, $sourceId: String!) { customerBySource(system: $system, sourceId: $sourceId) {
    id displayName identifiers { value } policies(first: 5) { totalCount } } }`,
};

type Sample = { id: string; phone: string | null; name: string | null; system: string; sourceId: string };

const db = new pg.Client({ connectionString: args.database });
await db.connect();
let samples: Sample[];
try {
  await db.query('select setseed(0.17)');
  const n = Number(args.customers);
  const { rows } = await db.query<{ id: string }>(
    `(select id from party where status = 'ACTIVE' order by random() limit $1)
     union
     (select sr.party_id from source_record sr
        join policy_role pr on pr.system = sr.system and pr.client_source_id = sr.source_id
       group by sr.party_id order by count(distinct pr.policy_no) desc, sr.party_id limit 10)
     union
     (select sr.party_id from source_record sr
        join policy_role pr on pr.system = sr.system and pr.client_source_id = sr.source_id and not pr.current
       group by sr.party_id order by count(*) desc, sr.party_id limit 10)`,
    [n],
  );
  const ids = rows.map((r) => r.id).sort();
  const detail = await db.query<Sample>(
    `select p.id, p.display_name as name,
            (select min(cp.search_key) from contact_point cp where cp.party_id = p.id and cp.kind = 'MOBILE') as phone,
            (select sr.system from source_record sr where sr.party_id = p.id order by sr.system, sr.source_id limit 1) as system,
            (select sr.source_id from source_record sr where sr.party_id = p.id order by sr.system, sr.source_id limit 1) as "sourceId"
       from party p where p.id = any($1::uuid[]) order by p.id`,
    [ids],
  );
  samples = detail.rows;
} finally {
  await db.end();
}

const config = loadConfig({
  DATABASE_URL: args.database,
  PORT: '0',
  HUB_JWT_SECRET: 'bench-secret-bench-secret-bench-secret-00',
  HUB_DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-graphql-answers-')),
  LOG_LEVEL: 'error',
  HUB_SEARCH_RATE_PER_MINUTE: '100000',
});
const hub = await startHub(config, { demo: false, logger: createLogger(config.logLevel) });
const lines: string[] = [];
let errors = 0;
try {
  for (const role of ['CHANNEL_APP', 'DATA_STEWARD', 'UNDERWRITER'] as const) {
    const token = await signToken(hub.tokens, `answers-${role.toLowerCase()}`, [role]);
    const ask = async (doc: string, variables: Record<string, unknown>, sample: string): Promise<string> => {
      const res = await fetch(hub.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: documents[doc], variables }),
      });
      const body = await res.text();
      if (body.includes('"errors"')) errors += 1;
      lines.push(JSON.stringify({ role, doc, sample, status: res.status, body }));
      return body;
    };
    for (const s of samples) {
      for (const doc of ['full360', 'bench360', 'twoRoots', 'node']) await ask(doc, { id: s.id }, s.id);
      const frag = JSON.parse(await ask('fragments', { id: s.id }, s.id)) as {
        data?: { customer?: { p1?: { pageInfo?: { endCursor?: string | null } } } | null };
      };
      const after = frag.data?.customer?.p1?.pageInfo?.endCursor ?? null;
      await ask('nextPage', { id: s.id, after }, `${s.id} after ${after}`);
      if (s.phone) for (const doc of ['phone', 'phoneFull']) await ask(doc, { phone: s.phone }, s.phone);
      if (s.name) await ask('name', { name: s.name }, s.name);
      await ask('bySource', { system: s.system, sourceId: s.sourceId }, `${s.system} ${s.sourceId}`);
    }
  }
} finally {
  await hub.stop();
}
writeFileSync(args.out, `${lines.join('\n')}\n`);
process.stdout.write(`${lines.length} answers (${samples.length} customers, ${errors} with errors) → ${args.out}\n`);
