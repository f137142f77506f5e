/**
 * The two operations of the GraphQL benchmark, written once for the hub's schema and once for PostGraphile's
 * (generated from the same tables, with the relations and filters bench/graphql-server.ts declares), selecting
 * the same data; and what each answer is reduced to when the benchmark checks that both return the same.
 *
 * (a) customer 360 by id: the golden record, identifiers, contact points, live policies on which the customer
 *     holds a current role (with those roles), each with its live covers and current participants.
 *     The hub filters the live rows itself; PostGraphile is asked for the same filters as conditions. The one
 *     filter PostGraphile cannot express on a to-one relation — a policy row marked deleted — is selected and
 *     left out when the answers are compared (it does not occur in the seeded data).
 * (b) find by phone: the customers with that phone number (the normalised search key), with their contact
 *     points. The hub normalises the input and searches `contact_point.search_key`; PostGraphile filters the same
 *     column by condition and follows the foreign key to the customer.
 */
export type Server = 'hub' | 'postgraphile';
export type Operation = 'customer360' | 'findByPhone';

const hub360 = /* GraphQL */ `query Customer360($id: ID!) {
  customer(id: $id) {
    id kind status displayName familyName givenName birthDate sex version updatedAt
    identifiers { type value valid issues }
    contactPoints { kind value valid issues validFrom }
    policies(first: 100) {
      totalCount
      edges {
        roles { role beneficiaryOrder sharePercent current clientSourceId }
        node {
          system policyNo productCode status commencementDate paidToDate sumInsured premium billingFrequency channel agentCode
          covers { coverage rider productCode sumInsured premium status }
          participants { role beneficiaryOrder sharePercent current clientSourceId }
        }
      }
    }
  }
}`;

const pg360 = /* GraphQL */ `query Customer360($id: UUID!) {
  party(rowId: $id) {
    rowId kind status displayName familyName givenName birthDate sex version updatedAt
    partyIdentifiers { nodes { type value valid issues } }
    contactPoints { nodes { kind value valid issues validFrom } }
    sourceRecords(condition: { deleted: false }) {
      nodes {
        policyRoles(condition: { deleted: false, current: true }) {
          nodes {
            role beneficiaryOrder sharePercent current clientSourceId
            policy {
              deleted system policyNo productCode status commencementDate paidToDate sumInsured premium billingFrequency channel agentCode
              covers(condition: { deleted: false }) { nodes { coverage rider productCode sumInsured premium status } }
              participants(condition: { deleted: false, current: true }) { nodes { role beneficiaryOrder sharePercent current clientSourceId } }
            }
          }
        }
      }
    }
  }
}`;

const hubPhone = /* GraphQL */ `query FindByPhone($phone: String!) {
  searchCustomers(query: { phone: $phone }) {
    edges { node { id status displayName contactPoints { kind value valid } } }
  }
}`;

const pgPhone = /* GraphQL */ `query FindByPhone($phone: String!) {
  contactPoints(condition: { searchKey: $phone }) {
    nodes { party { rowId status displayName contactPoints { nodes { kind value valid } } } }
  }
}`;

/** The request body for one operation on one server with one sample (a customer id or a phone search key). */
export function requestBody(server: Server, op: Operation, sample: string): string {
  if (op === 'customer360')
    return JSON.stringify({ query: server === 'hub' ? hub360 : pg360, variables: { id: sample } });
  return JSON.stringify({ query: server === 'hub' ? hubPhone : pgPhone, variables: { phone: sample } });
}

/** A GraphQL answer without errors (autocannon counts any other body as a mismatch). */
export const answered = (body: string): boolean => body.startsWith('{"data":') && !body.includes('"errors":');

type Row = Record<string, unknown>;
const list = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);
const nodes = (v: unknown): Row[] => list((v as { nodes?: unknown } | null)?.nodes);
const phoneKinds = new Set(['MOBILE', 'LANDLINE']);

/**
 * What both answers must agree on for one customer: its policy numbers (each once), how many current roles it
 * holds on them, how many covers and participants those policies have, its identifiers and its phones. Values
 * are not compared: the hub masks them for a channel app, PostGraphile returns them as stored.
 */
export function summarise360(server: Server, json: { data?: Row | null }): string {
  const data = json.data ?? {};
  if (server === 'hub') {
    const c = data.customer as Row | null;
    if (!c) return 'not found';
    const edges = list((c.policies as Row).edges);
    const policies = edges.map((e) => e.node as Row);
    return summary(
      policies.map((p) => String(p.policyNo)),
      edges.reduce((n, e) => n + list(e.roles).length, 0),
      policies.reduce((n, p) => n + list(p.covers).length, 0),
      policies.reduce((n, p) => n + list(p.participants).length, 0),
      list(c.identifiers).length,
      list(c.contactPoints).filter((cp) => phoneKinds.has(String(cp.kind))).length,
    );
  }
  const c = data.party as Row | null;
  if (!c) return 'not found';
  const roles = nodes(c.sourceRecords)
    .flatMap((sr) => nodes(sr.policyRoles))
    .filter((r) => r.policy && !(r.policy as Row).deleted);
  const policies = new Map(roles.map((r) => [String((r.policy as Row).policyNo), r.policy as Row]));
  return summary(
    [...policies.keys()],
    roles.length,
    [...policies.values()].reduce((n, p) => n + nodes(p.covers).length, 0),
    [...policies.values()].reduce((n, p) => n + nodes(p.participants).length, 0),
    nodes(c.partyIdentifiers).length,
    nodes(c.contactPoints).filter((cp) => phoneKinds.has(String(cp.kind))).length,
  );
}

function summary(
  policyNos: string[],
  roles: number,
  covers: number,
  participants: number,
  identifiers: number,
  phones: number,
) {
  const nos = [...new Set(policyNos)].sort();
  return `${nos.length} policies [${nos.join(' ')}], ${roles} roles, ${covers} covers, ${participants} participants, ${identifiers} identifiers, ${phones} phones`;
}

/** The customers a phone search found (active ones: the hub finds only those), each once, sorted. */
export function summarisePhone(server: Server, json: { data?: Row | null }): string {
  const data = json.data ?? {};
  const found =
    server === 'hub'
      ? list((data.searchCustomers as Row | null)?.edges).map((e) => e.node as Row)
      : nodes(data.contactPoints).map((cp) => cp.party as Row);
  const ids = found.filter((c) => c && c.status === 'ACTIVE').map((c) => String(server === 'hub' ? c.id : c.rowId));
  return [...new Set(ids)].sort().join(' ') || 'none';
}
