import DataLoader from 'dataloader';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Policy } from '../model/index.ts';
import type { AttributeLineage } from '../model/party.entity.ts';
import { nameKey, normalizeIdDocument, phoneSearchKey } from '../domain/normalize/index.ts';
import { badInput, isUuid } from '../domain/errors.ts';
import type { Loaders } from './loaders.ts';
import { policyKey, sourceKey } from './loaders.ts';
import { decodeCursor, encodeCursor, pageSize } from './pagination.ts';
import { type ReadParts, readSql } from './customer-read-sql.ts';
import {
  asPartyRow,
  contactPointJsonRow,
  coverJsonRow,
  identifierJsonRow,
  type PartyRow,
  policyJsonRow,
  type PolicyRoleRow,
  type PolicyRow,
  roleJsonRow,
} from './read-rows.ts';

/** Read side of the golden store: lookups, search and the customer 360's policies. Resolvers call only this. */
export type CustomerPolicyEdge = { cursor: string; policy: PolicyRow; roles: PolicyRoleRow[] };
export type AttributeLineageEntry = { attribute: string; lineage: AttributeLineage };
export type SourceRef = {
  system: string;
  sourceId: string;
  sourceTime: Date | string | null;
  event: { eventId: string; sourceVersion: string; sourceTime: Date | string | null } | null;
};

export type SearchInput = { phone?: string | null; idNumber?: string | null; name?: string | null };
export type Connection<T> = {
  edges: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
};

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isPolicyCursor = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string');

/** The arguments of `Customer.policies`. */
export type PolicyPageArgs = {
  first?: number | null;
  after?: string | null;
  role?: PolicyRoleRow['role'] | null;
  includeHistory?: boolean | null;
};
/** What a policy page's readers go on to ask of each policy, read with the page. */
export type PolicyPagePlan = { covers: boolean; participants: boolean };

/**
 * What a query asks of the customers it reads (the resolvers work it out from the selection set): their
 * identifiers, contact points and a page of policies — with each policy's covers and participants — are then
 * read in the statement that reads the customers, and the loaders and the policy pages are primed with them.
 * A part left out (false, null) is read by its own loader as before, if a field asks for it after all.
 */
export type CustomerPlan = {
  /**
   * The golden record's lineage (~1.2 KB of JSON a customer): read only when asked for. A customer read without
   * it is not handed to the party loader, which must answer with whole rows.
   */
  lineage: boolean;
  identifiers: boolean;
  contactPoints: boolean;
  policies: (PolicyPageArgs & PolicyPagePlan) | null;
};

type PolicyPage = Connection<CustomerPolicyEdge> & { totalCount: number };

/** A policy page's arguments checked and made canonical; null when they are not valid (the field reports it). */
type PageQuery = { limit: number; after: [string, string] | null; role: string | null; includeHistory: boolean };
function pageQuery(args: PolicyPageArgs): PageQuery {
  return {
    limit: pageSize(args.first),
    after: decodeCursor(args.after, 'policy', isPolicyCursor),
    role: args.role ?? null,
    includeHistory: args.includeHistory ?? false,
  };
}
const pageKey = (partyId: string, q: PageQuery) =>
  `${partyId}\u0000${q.limit}\u0000${q.after?.join('\u0000') ?? ''}\u0000${q.role ?? ''}\u0000${q.includeHistory}`;

type Read = { plan: CustomerPlan; page: PageQuery | null };
type ReadKey = { id: string; read: Read };
const readKey = (r: Read) =>
  `${r.plan.lineage ? 1 : 0}${r.plan.identifiers ? 1 : 0}${r.plan.contactPoints ? 1 : 0}${r.page ? `${r.plan.policies?.covers ? 1 : 0}${r.plan.policies?.participants ? 1 : 0}${pageKey('', r.page)}` : '-'}`;

export class CustomerService {
  private readonly em: EntityManager;
  private readonly loaders: Loaders;
  /** Policy pages read with their customers, by customer and page arguments (this request only). */
  private readonly pages = new Map<string, PolicyPage>();
  /** Customers with what a plan asks of them, one statement per plan and tick (DataLoader batching). */
  private readonly reads: DataLoader<ReadKey, PartyRow | null, string>;

  constructor(em: EntityManager, loaders: Loaders) {
    this.em = em;
    this.loaders = loaders;
    this.reads = new DataLoader((keys) => this.readBatch(keys), {
      cacheKeyFn: (k) => `${readKey(k.read)}\u0000${k.id}`,
    });
  }

  /** A customer by id (merged-away ids resolve to the survivor); with a plan, its children in the same statement. */
  async byId(id: string, plan?: CustomerPlan): Promise<PartyRow | null> {
    if (!isUuid(id)) return null;
    const key = id.toLowerCase();
    const read = plan ? readOf(plan) : null;
    if (!read) return this.loaders.party.load(key);
    const row = await this.reads.load({ id: key, read });
    // A merged-away id: its survivor is read as before (rare; the plan's children would be the wrong customer's).
    if (row?.status === 'MERGED') return this.loaders.party.load(key);
    if (row && read.plan.lineage) this.loaders.party.prime(key, row);
    return row;
  }

  /** A policy by the hub's id (Query.node); a deleted policy is not found. */
  async policyById(id: string): Promise<PolicyRow | null> {
    if (!isUuid(id)) return null;
    return this.em.findOne(Policy, { id: id.toLowerCase(), deleted: false });
  }

  bySource(system: string, sourceId: string): Promise<PartyRow | null> {
    return this.loaders.partyBySource.load(sourceKey(system, sourceId.trim()));
  }

  /**
   * Phone and id number are exact lookups on normalised keys; a name matches exactly on its key (simplified,
   * spaceless, lower-case), by prefix, or by trigram similarity. Ranked search pages by offset cursors. The
   * customers found are read in the same statement, with what `plan` asks of them.
   */
  async search(
    input: SearchInput,
    first: number | null | undefined,
    after: string | null | undefined,
    plan?: CustomerPlan,
  ): Promise<Connection<{ cursor: string; node: PartyRow; score: number }>> {
    const limit = pageSize(first);
    const offset = decodeCursor(after, 'search', isNumber) ?? 0;
    const where: string[] = [`p.status = 'ACTIVE'`];
    const params: unknown[] = [];

    if (input.phone != null) {
      const key = phoneSearchKey(input.phone);
      if (key === null) throw badInput(`"${input.phone}" is not a phone number`, 'query.phone');
      where.push(`exists (select 1 from contact_point cp where cp.party_id = p.id and cp.search_key = ?)`);
      params.push(key);
    }
    if (input.idNumber != null) {
      const looksResident = /^[\d\s\uFF10-\uFF19]{15,18}[xX\uFF38\uFF58]?$/.test(input.idNumber.trim());
      const id = normalizeIdDocument(looksResident ? '01' : '99', input.idNumber);
      if (id.value === null) throw badInput('idNumber is empty', 'query.idNumber');
      where.push(`exists (select 1 from party_identifier pi where pi.party_id = p.id and pi.value = ?)`);
      params.push(id.value);
    }
    if (input.name == null && params.length === 0)
      throw badInput('give at least one of phone, idNumber or name', 'query');
    const filter = where.join(' and ');
    let hits = `select p.id, 1.0 as score from party p where ${filter} order by p.id limit ? offset ?`;
    let hitParams: unknown[] = [...params, limit + 1, offset];
    if (input.name != null) {
      const key = nameKey(input.name);
      if (key === null) throw badInput('name is empty', 'query.name');
      // The exact key first, then names starting with it (and, for longer keys, similar names), by similarity.
      // The exact arm is an index-only scan of party_name_key_search (key and id of active customers); the other
      // arm runs only when the exact holders do not fill the page (a one-time filter): at a million customers a
      // common name (王伟: 1,300 exact holders, more by prefix) fills it, and ranking every prefix holder by
      // similarity was most of the search's cost. A non-exact name scores below 1 even when its trigrams are the
      // key's, so that the exact arm alone decides a page it fills.
      // Similar names are looked for among the names sharing the key's first half (fuzzyNameSearch); `like 'k%'`
      // is the prefix arm (with `similarity(…) >= 0.3` alone, every name search read the whole party table).
      let { sql: near, params: nearParams } = prefixCondition(key);
      if (fuzzyNameSearch(key)) {
        const chars = [...key];
        const stem = prefixCondition(chars.slice(0, fuzzyStemLength(chars.length)).join(''));
        near = `${stem.sql} and (p.name_key like ? or similarity(p.name_key, ?) >= 0.3)`;
        nearParams = [...stem.params, `${escapeLike(key)}%`, key];
      }
      const enough = offset + limit + 1;
      hits = `with exact as (select p.id from party p where ${filter} and p.name_key = ? order by p.id limit ?)
        select id, 1.0 as score from exact
        union all
        (select p.id, least(greatest(similarity(p.name_key, ?), 0.5), 0.99) as score from party p
          where ${filter} and ${near} and p.name_key <> ? and (select count(*) from exact) < ?
          order by score desc, p.id limit ?)
        order by score desc, id limit ? offset ?`;
      hitParams = [...params, key, enough, key, ...params, ...nearParams, key, enough, enough, limit + 1, offset];
    }

    // Without a plan, whole rows (lineage included) for the party loader.
    const read = (plan && readOf(plan)) ?? { plan: { ...nothingPlanned, lineage: true }, page: null };
    const rows = (await this.read(hits, hitParams, read)).sort(byScoreThenId);
    const page = rows.slice(0, limit);
    const edges = page.map((node, i) => ({
      cursor: encodeCursor('search', offset + i + 1),
      node,
      score: Number((node as PartyRow & { score: unknown }).score),
    }));
    for (const e of edges) {
      delete (e.node as { score?: unknown }).score;
      if (read.plan.lineage) this.loaders.party.prime(e.node.id, e.node);
    }
    return connection(edges, rows.length > limit, offset > 0);
  }

  /**
   * The customer's policies with its roles on each. Roles point at source client numbers, so they are found
   * through the customer's live source records; a role whose policy has not arrived yet is not listed until it
   * does. Keyset pagination on (system, policy number). One statement (batched across customers asking for the
   * same page), with the covers and participants `plan` asks for; none when the customer was read with this page.
   */
  policies(partyId: string, args: PolicyPageArgs, plan?: PolicyPagePlan): PolicyPage | Promise<PolicyPage> {
    const q = pageQuery(args);
    const key = pageKey(partyId, q);
    // Read with the customer: the page itself, not a promise of it (see ReadAheadLoader).
    const cached = this.pages.get(key);
    if (cached) return cached;
    const policies = { ...args, covers: plan?.covers ?? false, participants: plan?.participants ?? false };
    return this.reads
      .load({ id: partyId, read: { plan: { ...nothingPlanned, policies }, page: q } })
      .then(() => this.pages.get(key) ?? { ...connection([], false, q.after !== null), totalCount: 0 });
  }

  /** Reads customers by id with what `read` asks of them, and primes the loaders and pages with it. */
  private async readBatch(keys: readonly ReadKey[]): Promise<(PartyRow | null)[]> {
    const groups = new Map<string, { read: Read; ids: string[] }>();
    for (const k of keys) {
      const rk = readKey(k.read);
      const group = groups.get(rk);
      if (group) group.ids.push(k.id);
      else groups.set(rk, { read: k.read, ids: [k.id] });
    }
    const byKey = new Map<string, PartyRow>();
    await Promise.all(
      [...groups].map(async ([rk, { read, ids }]) => {
        const rows = await this.read(`select unnest(?::uuid[]) as id`, [ids], read);
        for (const row of rows) byKey.set(`${rk}\u0000${row.id}`, row);
      }),
    );
    return keys.map((k) => byKey.get(`${readKey(k.read)}\u0000${k.id}`) ?? null);
  }

  /**
   * One statement: the customers `hits` names (a query returning `id`, and for a search `score`), each with the
   * children `read` asks for as JSON, built by PostgreSQL in the loaders' orders; then the loaders are primed.
   * Each shape of `hits` and combination of parts is its own prepared statement (readSql); rows come unordered.
   */
  private async read(hits: string, hitParams: unknown[], read: Read): Promise<PartyRow[]> {
    const { plan, page } = read;
    const parts: ReadParts = {
      lineage: plan.lineage,
      identifiers: plan.identifiers,
      contactPoints: plan.contactPoints,
      policies:
        page === null
          ? null
          : { covers: plan.policies?.covers ?? false, participants: plan.policies?.participants ?? false },
    };
    // In the order of the statement's placeholders after those of `hits` (readSql): the policy page's.
    const after = page?.after ?? null;
    const params = page
      ? [
          ...hitParams,
          page.includeHistory,
          page.role,
          page.role,
          after?.[0] ?? null,
          after?.[0] ?? null,
          after?.[1] ?? null,
          page.limit + 1,
        ]
      : hitParams;
    const raws = await executeBound<Record<string, unknown>[]>(this.em, readSql(hits, parts), params, {
      prepared: true,
    });
    return raws.map((raw) => this.prime(raw, read));
  }

  /** Takes the children out of one customer's row and primes the loaders (and the policy page) with them. */
  private prime(raw: Record<string, unknown>, { plan, page }: Read): PartyRow {
    const identifiers = raw._identifiers as unknown[][] | null;
    const contactPoints = raw._contactPoints as unknown[][] | null;
    const policies = raw._policies as { total: number; page: unknown[][] } | null;
    delete raw._identifiers;
    delete raw._contactPoints;
    delete raw._policies;
    const row = asPartyRow(raw);
    if (plan.identifiers && identifiers)
      this.loaders.identifiersByParty.prime(
        row.id,
        identifiers.map((i) => identifierJsonRow.read(i, { partyId: row.id })),
      );
    if (plan.contactPoints && contactPoints)
      this.loaders.contactPointsByParty.prime(
        row.id,
        contactPoints.map((c) => contactPointJsonRow.read(c, { partyId: row.id })),
      );
    if (page && policies) {
      const edges = policies.page.slice(0, page.limit).map((values) => {
        const policy = policyJsonRow.read(values, {});
        const [roles, covers, participants] = values.slice(policyJsonRow.width) as [
          unknown[][],
          unknown[][] | null,
          unknown[][] | null,
        ];
        const key = { system: policy.system, policyNo: policy.policyNo };
        const k = policyKey(policy.system, policy.policyNo);
        this.loaders.policy.prime(k, policy);
        if (covers)
          this.loaders.coversByPolicy.prime(
            k,
            covers.map((c) => coverJsonRow.read(c, key)),
          );
        if (participants)
          this.loaders.participantsByPolicy.prime(
            k,
            participants.map((r) => roleJsonRow.read(r, key)),
          );
        return {
          cursor: encodeCursor('policy', [policy.system, policy.policyNo]),
          policy,
          roles: roles.map((r) => roleJsonRow.read(r, key)),
        };
      });
      this.pages.set(pageKey(row.id, page), {
        ...connection(edges, policies.page.length > page.limit, page.after !== null),
        totalCount: Number(policies.total),
      });
    }
    return row;
  }
}

const nothingPlanned: CustomerPlan = { lineage: false, identifiers: false, contactPoints: false, policies: null };

/** A plan with its policy page checked; null when the plan asks for nothing beyond the customer. */
function readOf(plan: CustomerPlan): Read | null {
  let page: PageQuery | null = null;
  if (plan.policies) {
    try {
      page = pageQuery(plan.policies);
    } catch {
      // Invalid page arguments: not read ahead; the policies field reports the error itself.
      page = null;
    }
  }
  const planned = { ...plan, policies: page ? plan.policies : null };
  if (!planned.identifiers && !planned.contactPoints && !page) return null;
  return { plan: planned, page };
}

function connection<T extends { cursor: string }>(
  edges: T[],
  hasNextPage: boolean,
  hasPreviousPage: boolean,
): Connection<T> {
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/** A search page's order, as `order by score desc, p.id` ranked the hits (uuid text orders as uuid does). */
function byScoreThenId(a: PartyRow, b: PartyRow): number {
  const score = (r: PartyRow) => Number((r as PartyRow & { score: unknown }).score);
  return score(b) - score(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Names starting with `prefix`, as a range of the prefix index (`party_name_key_search`, text_pattern_ops) beside
 * the LIKE itself. The search runs as a prepared statement, and once PostgreSQL switches it to a generic plan, a
 * `like ?` cannot be turned into an index range (the pattern is unknown when planning): it was answered from the
 * trigram index instead, fetching every holder of the stem from the heap — 6,000 random pages and ~28 ms for a
 * four-character name with a compound surname (上官天涛) at a million customers, the tail of name search. A range
 * with parameters is an index condition in any plan. In UTF-8 byte order every string starting with the prefix lies
 * between it and the prefix with its last character incremented.
 */
function prefixCondition(prefix: string): { sql: string; params: unknown[] } {
  const like = `${escapeLike(prefix)}%`;
  const next = nextPrefix(prefix);
  return next === null
    ? { sql: `p.name_key like ?`, params: [like] }
    : { sql: `p.name_key ~>=~ ? and p.name_key ~<~ ? and p.name_key like ?`, params: [prefix, next, like] };
}
function nextPrefix(prefix: string): string | null {
  const chars = [...prefix];
  const last = chars.pop()?.codePointAt(0);
  if (last === undefined || last >= 0x10ffff || (last >= 0xd7ff && last <= 0xdfff)) return null;
  return chars.join('') + String.fromCodePoint(last + 1);
}

/**
 * Whether a name key is long enough for the trigram arm of name search. Trigram similarity finds typos in longer
 * names (司马相如 → 司马相儒, pinyin spellings) but not in the short Chinese names most customers have:
 * - a key of one or two characters (王伟) has three trigrams, and the trigram index keeps every row sharing ONE of
 *   them for a recheck — every holder of the surname, about 7 % of customers each for 王, 李 or 张: 10.8 ms of
 *   PostgreSQL CPU per search at 100,000 customers (bench:scale), linear in the store. Such a key reaches similarity
 *   0.3 only through the exact key or a name starting with it, which the prefix index answers at once;
 * - a three-character key (王一东) is 0.33 similar to every name with the same surname and first given character
 *   (王一西, 王一南): other people, not typos (a Chinese typo is a homophone, another character, which shares no
 *   trigram), and hundreds of them to rank at a million customers.
 * From four characters on the arm is both selective and useful — among the names that share the key's first half
 * (at least two characters: a four-character name that does not share them is hardly ever 0.3 similar, the padded
 * trigrams "  a" and " ab" being two of its five). Searching the whole trigram index is what cannot be afforded at
 * a million customers: an organisation's name shares 有限公/限公司/公司 with every other company, so `name_key % ?`
 * rechecked hundreds of thousands of rows (4.8 s per search at 1,190,282 customers in bench:scale), and a common
 * two-character stem (上海) still holds tens of thousands of companies. Missed: a long name differing in its first
 * half (上海平安科技有限公司 for 平安科技有限公司, a typo in a company name's first characters).
 */
export function fuzzyNameSearch(key: string): boolean {
  return [...key].length >= 4;
}

/**
 * How many leading characters the names the trigram arm ranks share with the key: its first half, at least two —
 * but three for a four-character key. There the first half is a compound surname (欧阳, 上官, 诸葛), and ranking
 * every holder of it was the slowest name search at a million generated customers (6,000–6,400 holders each;
 * 10–26 ms a search, bench:scale). Three characters lose nothing at the 0.3 threshold for a name of four or fewer:
 * one that keeps the first two characters but not the third shares at most two of the key's five trigrams ("  a",
 * " ab": 2/8). Missed: a character inserted after the second (上官小瑶兰 for 上官瑶兰, 3/8).
 */
export function fuzzyStemLength(keyLength: number): number {
  return keyLength === 4 ? 3 : Math.max(2, Math.floor(keyLength / 2));
}
