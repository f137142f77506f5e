import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Party, Policy, PolicyRole } from '../model/index.ts';
import type { AttributeLineage } from '../model/party.entity.ts';
import { nameKey, normalizeIdDocument, phoneSearchKey } from '../domain/normalize/index.ts';
import { badInput, isUuid } from '../domain/errors.ts';
import type { Loaders } from './loaders.ts';
import { policyKey, sourceKey } from './loaders.ts';
import { decodeCursor, encodeCursor, pageSize } from './pagination.ts';

/** Read side of the golden store: lookups, search and the customer 360's policies. Resolvers call only this. */
export type CustomerPolicyEdge = { cursor: string; policy: Policy; roles: PolicyRole[] };
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

export class CustomerService {
  private readonly em: EntityManager;
  private readonly loaders: Loaders;

  constructor(em: EntityManager, loaders: Loaders) {
    this.em = em;
    this.loaders = loaders;
  }

  byId(id: string): Promise<Party | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.loaders.party.load(id.toLowerCase());
  }

  /** A policy by the hub's id (Query.node); a deleted policy is not found. */
  async policyById(id: string): Promise<Policy | null> {
    if (!isUuid(id)) return null;
    return this.em.findOne(Policy, { id: id.toLowerCase(), deleted: false });
  }

  bySource(system: string, sourceId: string): Promise<Party | null> {
    return this.loaders.partyBySource.load(sourceKey(system, sourceId.trim()));
  }

  /**
   * Phone and id number are exact lookups on normalised keys; a name matches exactly on its key (simplified,
   * spaceless, lower-case), by prefix, or by trigram similarity. Ranked search pages by offset cursors.
   */
  async search(
    input: SearchInput,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Connection<{ cursor: string; node: Party; score: number }>> {
    const limit = pageSize(first);
    const offset = decodeCursor(after, 'search', isNumber) ?? 0;
    const where: string[] = [`p.status = 'ACTIVE'`];
    const params: unknown[] = [];
    let score = '1.0';
    const scoreParams: unknown[] = [];

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
    if (input.name != null) {
      const key = nameKey(input.name);
      if (key === null) throw badInput('name is empty', 'query.name');
      where.push(`(p.name_key = ? or p.name_key like ? or similarity(p.name_key, ?) >= 0.3)`);
      params.push(key, `${escapeLike(key)}%`, key);
      score = `case when p.name_key = ? then 1.0 else greatest(similarity(p.name_key, ?), 0.5) end`;
      scoreParams.push(key, key);
    }
    if (params.length === 0) throw badInput('give at least one of phone, idNumber or name', 'query');

    const rows = await executeBound<{ id: string; score: number }[]>(
      this.em,
      `select p.id, ${score} as score from party p where ${where.join(' and ')} order by score desc, p.id limit ? offset ?`,
      [...scoreParams, ...params, limit + 1, offset],
    );
    const page = rows.slice(0, limit);
    const parties = page.length === 0 ? [] : await this.em.find(Party, { id: { $in: page.map((r) => r.id) } });
    const byId = new Map(parties.map((p) => [p.id, p]));
    const edges = page.flatMap((r, i) => {
      const node = byId.get(r.id);
      return node ? [{ cursor: encodeCursor('search', offset + i + 1), node, score: Number(r.score) }] : [];
    });
    for (const e of edges) this.loaders.party.prime(e.node.id, e.node);
    return connection(edges, rows.length > limit, offset > 0);
  }

  /**
   * The customer's policies with its roles on each. Roles point at source client numbers, so they are found
   * through the customer's live source records; a role whose policy has not arrived yet is not listed until it
   * does. Keyset pagination on (system, policy number).
   */
  async policies(
    partyId: string,
    args: {
      first?: number | null;
      after?: string | null;
      role?: PolicyRole['role'] | null;
      includeHistory?: boolean | null;
    },
  ): Promise<Connection<CustomerPolicyEdge> & { totalCount: number }> {
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, 'policy', isPolicyCursor);
    const filters = [`sr.party_id = ?`, `not sr.deleted`, `not pr.deleted`, `not pol.deleted`];
    const params: unknown[] = [partyId];
    if (!args.includeHistory) filters.push('pr.current');
    if (args.role) {
      filters.push('pr.role = ?');
      params.push(args.role);
    }
    const keyset = after ? `where (system, policy_no) > (?, ?)` : '';
    const rows = await executeBound<{ system: string; policy_no: string; role_ids: string[]; total: string }[]>(
      this.em,
      `with mine as (
         select pol.system, pol.policy_no, array_agg(pr.id order by pr.role) as role_ids
           from policy_role pr
           join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id
           join policy pol on pol.system = pr.system and pol.policy_no = pr.policy_no
          where ${filters.join(' and ')}
          group by pol.system, pol.policy_no)
       select system, policy_no, role_ids, (select count(*) from mine)::text as total from mine ${keyset}
        order by system, policy_no limit ?`,
      [...params, ...(after ?? []), limit + 1],
    );
    const page = rows.slice(0, limit);
    const total = Number(rows[0]?.total ?? (after ? await this.countPolicies(filters, params) : 0));
    const roleIds = page.flatMap((r) => r.role_ids);
    const [policies, roles] =
      page.length === 0
        ? [[], []]
        : await Promise.all([
            this.em.find(Policy, { $or: page.map((r) => ({ system: r.system, policyNo: r.policy_no })) }),
            this.em.find(PolicyRole, { id: { $in: roleIds } }, { orderBy: { role: 'asc' } }),
          ]);
    const policyByKey = new Map(policies.map((p) => [policyKey(p.system, p.policyNo), p]));
    const rolesById = new Map(roles.map((r) => [r.id, r]));
    const edges = page.flatMap((r) => {
      const policy = policyByKey.get(policyKey(r.system, r.policy_no));
      if (!policy) return [];
      this.loaders.policy.prime(policyKey(r.system, r.policy_no), policy);
      return [
        {
          cursor: encodeCursor('policy', [r.system, r.policy_no]),
          policy,
          roles: r.role_ids.flatMap((id) => rolesById.get(id) ?? []),
        },
      ];
    });
    return { ...connection(edges, rows.length > limit, after !== null), totalCount: total };
  }

  private async countPolicies(filters: string[], params: unknown[]): Promise<number> {
    const [row] = await executeBound<{ total: string }[]>(
      this.em,
      `select count(distinct (pol.system, pol.policy_no))::text as total from policy_role pr
         join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id
         join policy pol on pol.system = pr.system and pol.policy_no = pr.policy_no
        where ${filters.join(' and ')}`,
      params,
    );
    return Number(row?.total ?? 0);
  }
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

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
