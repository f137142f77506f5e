import pg from 'pg';
import { requestBody } from './graphql-documents.ts';

/**
 * The GraphQL documents of bench:scale (bench/scale.bench.ts), its storage report and its summary table.
 * Search asks what a call-centre screen lists for each hit: the customer and its contact points (masked for the
 * CHANNEL_APP role); the 360 is bench:graphql's document (identifiers, contact points, policies with the customer's
 * roles, covers and participants).
 */
const search = /* GraphQL */ `query Search($query: CustomerSearchInput!) {
  searchCustomers(query: $query, first: 20) {
    edges { score node { id kind status displayName birthDate contactPoints { kind value valid } } }
  }
}`;

export const scaleDocuments = {
  phone: (phone: string) => JSON.stringify({ query: search, variables: { query: { phone } } }),
  idNumber: (idNumber: string) => JSON.stringify({ query: search, variables: { query: { idNumber } } }),
  name: (name: string) => JSON.stringify({ query: search, variables: { query: { name } } }),
  customer360: (id: string) => requestBody('hub', 'customer360', id),
};

export type Row = { what: string; value: string; target: string; ok: boolean | null };

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Database size per active golden customer, the largest tables (with their indexes) and the row counts. */
export async function storageReport(url: string): Promise<{ lines: string[]; rows: Row[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = async <T extends pg.QueryResultRow>(sql: string) => (await c.query<T>(sql)).rows;
    const [counts] = await q<Record<string, string>>(
      `select (select count(*) from party where status = 'ACTIVE') as active_customers,
              (select count(*) from party) as parties,
              (select count(*) from source_record) as source_records,
              (select count(*) from policy) as policies,
              (select count(*) from policy_cover) as covers,
              (select count(*) from policy_role) as roles,
              (select count(*) from activity) as activities,
              (select count(*) from contact_point) as contact_points,
              (select count(*) from party_identifier) as identifiers,
              (select count(*) from match_key) as match_keys,
              (select count(*) from quarantined_event) as quarantined`,
    );
    const active = Number(counts?.active_customers ?? 0);
    const [{ size } = { size: '0' }] = await q<{ size: string }>(`select pg_database_size(current_database()) as size`);
    const tables = await q<{ name: string; total: string; heap: string; indexes: string }>(
      `select c.relname as name, pg_total_relation_size(c.oid) as total, pg_relation_size(c.oid) as heap,
              pg_indexes_size(c.oid) as indexes
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = 'public' order by pg_total_relation_size(c.oid) desc limit 12`,
    );
    const perCustomer = Number(size) / Math.max(1, active);
    const lines = [
      `rows: ${Object.entries(counts ?? {})
        .map(([k, v]) => `${Number(v).toLocaleString('en')} ${k.replaceAll('_', ' ')}`)
        .join(', ')}`,
      `source records per active golden customer: ${(Number(counts?.source_records ?? 0) / Math.max(1, active)).toFixed(2)}`,
      `database: ${mb(Number(size))}, ${(perCustomer / 1024).toFixed(1)} kB per active golden customer; largest tables (heap + indexes, per customer):`,
      ...tables.map(
        (t) =>
          `  ${t.name.padEnd(22)} ${mb(Number(t.total)).padStart(9)} (heap ${mb(Number(t.heap))}, indexes ${mb(Number(t.indexes))}) ` +
          `${(Number(t.total) / Math.max(1, active)).toFixed(0)} B/customer`,
      ),
    ];
    return {
      lines,
      rows: [
        { what: 'active golden customers', value: active.toLocaleString('en'), target: '', ok: null },
        {
          what: 'source records',
          value: Number(counts?.source_records ?? 0).toLocaleString('en'),
          target: '',
          ok: null,
        },
        {
          what: 'policies / roles / covers',
          value: [counts?.policies, counts?.roles, counts?.covers]
            .map((v) => Number(v).toLocaleString('en'))
            .join(' / '),
          target: '',
          ok: null,
        },
        { what: 'database size', value: mb(Number(size)), target: '', ok: null },
        { what: 'storage per customer', value: `${(perCustomer / 1024).toFixed(1)} kB`, target: '', ok: null },
      ],
    };
  } finally {
    await c.end();
  }
}

export function summaryTable(
  rows: Row[],
  settings: { customers: number; loader: string; rate: number; seconds: number },
): string[] {
  const w = Math.max(...rows.map((r) => r.what.length), 10);
  const v = Math.max(...rows.map((r) => r.value.length), 10);
  const targetsMetAt =
    settings.customers >= 1_000_000
      ? ''
      : ` (targets are set for 1,000,000; this run: ${settings.customers.toLocaleString('en')})`;
  return [
    `bench:scale — --customers ${settings.customers.toLocaleString('en')}, ${settings.loader}, reads at ${settings.rate}/s for ${settings.seconds} s each${targetsMetAt}; CPU/request: the hub process + PostgreSQL backends`,
    `${'measure'.padEnd(w)}  ${'value'.padEnd(v)}  ${'target'.padEnd(8)}  result`,
    ...rows.map(
      (r) =>
        `${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target.padEnd(8)}  ${r.ok === null ? '' : r.ok ? 'pass' : 'FAIL'}`,
    ),
  ];
}
