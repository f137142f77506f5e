import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { PartyHistory, SourceRecord } from '../model/index.ts';
import {
  asContactPointRow,
  asPartyRow,
  asRows,
  type ContactPointRow,
  contactPointCols,
  contactPointOrder,
  coverCols,
  coverOrder,
  type IdentifierRow,
  identifierCols,
  identifierOrder,
  participantOrder,
  partyCols,
  type PartyRow,
  policyCols,
  type PolicyCoverRow,
  type PolicyRoleRow,
  type PolicyRow,
  roleCols,
} from './read-rows.ts';
import { consentsLoader } from './consent.service.ts';

/**
 * Per-request DataLoaders: every list a resolver needs for many parents is fetched in one statement per
 * request tick, so a customer 360 costs a constant number of SQL statements however many policies it has.
 * Batch functions return results in key order (DataLoader's contract). The customer 360's loaders read plain
 * rows (src/services/read-rows.ts) with bound, prepared statements; the customer service primes them when it
 * has read a customer's children with the customer (customer.service.ts, `CustomerPlan`).
 */
export type Loaders = ReturnType<typeof createLoaders>;

export const policyKey = (system: string, policyNo: string) => `${system}\u0000${policyNo}`;
export const sourceKey = (system: string, sourceId: string) => `${system}\u0000${sourceId}`;
const splitKey = (key: string): [string, string] => {
  const [a = '', b = ''] = key.split('\u0000');
  return [a, b];
};

function groupBy<T, K>(rows: readonly T[], keyOf: (row: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/** Keys of (system, number) pairs as two parallel arrays, for `(a, b) in (select * from unnest(?::text[], ?::text[]))`. */
const pairArrays = (keys: readonly string[]): [string[], string[]] => {
  const pairs = keys.map(splitKey);
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
};

/**
 * A DataLoader that also answers at once for what was primed: the customer read brings a customer's children in
 * its own statement (customer.service.ts `prime`), and a resolver that returns them as values, not promises, lets
 * graphql-js complete the object without a promise per field (runMicrotasks and promiseForObject were ~5 % of the
 * hub's CPU on a phone search). Loaders live for one request and are never cleared, so a primed value stays what
 * `load` would answer (and `clear` forgets both).
 */
export class ReadAheadLoader<K, V> extends DataLoader<K, V, K> {
  private readonly primed = new Map<K, V>();

  override prime(key: K, value: V | PromiseLike<V> | Error): this {
    // DataLoader keeps the first value it holds for a key; so does the map.
    const plain = !(value instanceof Error) && !isPromiseLike(value);
    if (plain && !this.primed.has(key)) this.primed.set(key, value as V);
    return super.prime(key, value);
  }

  override clear(key: K): this {
    this.primed.delete(key);
    return super.clear(key);
  }

  override clearAll(): this {
    this.primed.clear();
    return super.clearAll();
  }

  /** The primed value itself, or a promise of the loaded one. */
  get(key: K): V | Promise<V> {
    const value = this.primed.get(key);
    return value !== undefined ? value : this.load(key);
  }
}

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** Maps a value that may still be a promise, without making it one when it is not. */
export const mapMaybe = <T, U>(value: T | Promise<T>, f: (v: T) => U): U | Promise<U> =>
  value instanceof Promise ? value.then(f) : f(value);

export function createLoaders(em: EntityManager) {
  const bound = (sql: string, params: readonly unknown[]) =>
    executeBound<Record<string, unknown>[]>(em, sql, params, { prepared: true });

  const partyRow = new DataLoader<string, PartyRow | null>(async (ids) => {
    const rows = await bound(`select ${partyCols('p')} from party p where p.id = any(?::uuid[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id as string, asPartyRow(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  return {
    /** A golden party by id; a merged-away id resolves to its survivor (aliases stay valid forever). */
    party: new DataLoader<string, PartyRow | null>(async (ids) =>
      Promise.all(
        ids.map(async (id) => {
          let row = await partyRow.load(id);
          for (let hops = 0; row?.status === 'MERGED' && row.mergedIntoId && hops < 10; hops += 1)
            row = await partyRow.load(row.mergedIntoId);
          return row;
        }),
      ),
    ),

    identifiersByParty: new ReadAheadLoader<string, IdentifierRow[]>(async (partyIds) => {
      const rows = asRows<IdentifierRow>(
        await bound(
          `select ${identifierCols('i')} from party_identifier i where i.party_id = any(?::uuid[])
            order by ${identifierOrder('i')}`,
          [partyIds],
        ),
      );
      const grouped = groupBy(rows, (r) => r.partyId);
      return partyIds.map((id) => grouped.get(id) ?? []);
    }),

    contactPointsByParty: new ReadAheadLoader<string, ContactPointRow[]>(async (partyIds) => {
      const rows = (
        await bound(
          `select ${contactPointCols('c')} from contact_point c where c.party_id = any(?::uuid[])
            order by ${contactPointOrder('c')}`,
          [partyIds],
        )
      ).map(asContactPointRow);
      const grouped = groupBy(rows, (r) => r.partyId);
      return partyIds.map((id) => grouped.get(id) ?? []);
    }),

    sourceRecordsByParty: new DataLoader<string, SourceRecord[]>(async (partyIds) => {
      const rows = await em.find(
        SourceRecord,
        { partyId: { $in: [...partyIds] } },
        { orderBy: { system: 'asc', sourceId: 'asc' } },
      );
      const grouped = groupBy(rows, (r) => r.partyId);
      return partyIds.map((id) => grouped.get(id) ?? []);
    }),

    sourceRecord: new DataLoader<string, SourceRecord | null>(async (ids) => {
      const rows = await em.find(SourceRecord, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),

    /** The golden party a source record (system, source id) is linked to, or null if it has not arrived. */
    partyBySource: new DataLoader<string, PartyRow | null>(async (keys) => {
      const rows = await bound(
        `select sr.system as "srSystem", sr.source_id as "srSourceId", ${partyCols('p')}
           from source_record sr join party p on p.id = sr.party_id
          where (sr.system, sr.source_id) in (select * from unnest(?::text[], ?::text[])) and not sr.deleted`,
        pairArrays(keys),
      );
      const bySource = new Map(
        rows.map((r) => {
          const key = sourceKey(r.srSystem as string, r.srSourceId as string);
          delete r.srSystem;
          delete r.srSourceId;
          return [key, asPartyRow(r)];
        }),
      );
      return keys.map((k) => bySource.get(k) ?? null);
    }),

    /** The latest 200 versions of each party, newest first. */
    historyByParty: new DataLoader<string, PartyHistory[]>(async (partyIds) => {
      const rows = await em.find(
        PartyHistory,
        { partyId: { $in: [...partyIds] } },
        { orderBy: { version: 'desc' }, limit: 200 * partyIds.length },
      );
      const grouped = groupBy(rows, (r) => r.partyId);
      return partyIds.map((id) => (grouped.get(id) ?? []).slice(0, 200));
    }),

    /** Each customer's consents per purpose and channel, with history (src/services/consent.service.ts). */
    consentsByParty: consentsLoader(em),

    coversByPolicy: new ReadAheadLoader<string, PolicyCoverRow[]>(async (keys) => {
      const rows = asRows<PolicyCoverRow>(
        await bound(
          `select ${coverCols('c')} from policy_cover c
            where (c.system, c.policy_no) in (select * from unnest(?::text[], ?::text[])) and not c.deleted
            order by ${coverOrder('c')}`,
          pairArrays(keys),
        ),
      );
      const grouped = groupBy(rows, (r) => policyKey(r.system, r.policyNo));
      return keys.map((k) => grouped.get(k) ?? []);
    }),

    participantsByPolicy: new ReadAheadLoader<string, PolicyRoleRow[]>(async (keys) => {
      const rows = asRows<PolicyRoleRow>(
        await bound(
          `select ${roleCols('r')} from policy_role r
            where (r.system, r.policy_no) in (select * from unnest(?::text[], ?::text[])) and not r.deleted
            order by ${participantOrder('r')}`,
          pairArrays(keys),
        ),
      );
      const grouped = groupBy(rows, (r) => policyKey(r.system, r.policyNo));
      return keys.map((k) => grouped.get(k) ?? []);
    }),

    policy: new DataLoader<string, PolicyRow | null>(async (keys) => {
      const rows = asRows<PolicyRow>(
        await bound(
          `select ${policyCols('p')} from policy p
            where (p.system, p.policy_no) in (select * from unnest(?::text[], ?::text[])) and not p.deleted`,
          pairArrays(keys),
        ),
      );
      const byKey = new Map(rows.map((r) => [policyKey(r.system, r.policyNo), r]));
      return keys.map((k) => byKey.get(k) ?? null);
    }),
  };
}
