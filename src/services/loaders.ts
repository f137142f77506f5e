import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  ContactPoint,
  Party,
  PartyHistory,
  PartyIdentifier,
  Policy,
  PolicyCover,
  PolicyRole,
  SourceRecord,
} from '../model/index.ts';
import { consentsLoader } from './consent.service.ts';

/**
 * Per-request DataLoaders: every list a resolver needs for many parents is fetched in one statement per
 * request tick, so a customer 360 costs a constant number of SQL statements however many policies it has.
 * Batch functions return results in key order (DataLoader's contract).
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

export function createLoaders(em: EntityManager) {
  const partyRow = new DataLoader<string, Party | null>(async (ids) => {
    const rows = await em.find(Party, { id: { $in: [...ids] } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  return {
    /** A golden party by id; a merged-away id resolves to its survivor (aliases stay valid forever). */
    party: new DataLoader<string, Party | null>(async (ids) =>
      Promise.all(
        ids.map(async (id) => {
          let row = await partyRow.load(id);
          for (let hops = 0; row?.status === 'MERGED' && row.mergedIntoId && hops < 10; hops += 1)
            row = await partyRow.load(row.mergedIntoId);
          return row;
        }),
      ),
    ),

    identifiersByParty: new DataLoader<string, PartyIdentifier[]>(async (partyIds) => {
      const rows = await em.find(
        PartyIdentifier,
        { partyId: { $in: [...partyIds] } },
        { orderBy: { type: 'asc', id: 'asc' } },
      );
      const grouped = groupBy(rows, (r) => r.partyId);
      return partyIds.map((id) => grouped.get(id) ?? []);
    }),

    contactPointsByParty: new DataLoader<string, ContactPoint[]>(async (partyIds) => {
      const rows = await em.find(
        ContactPoint,
        { partyId: { $in: [...partyIds] } },
        { orderBy: { kind: 'asc', validFrom: 'desc', id: 'asc' } },
      );
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
    partyBySource: new DataLoader<string, Party | null>(async (keys) => {
      const pairs = keys.map(splitKey);
      const records = await em.find(SourceRecord, {
        $or: pairs.map(([system, sourceId]) => ({ system, sourceId })),
        deleted: false,
        partyId: { $ne: null },
      });
      const partyIds = [...new Set(records.map((r) => r.partyId as string))];
      const parties = partyIds.length === 0 ? [] : await em.find(Party, { id: { $in: partyIds } });
      const partyById = new Map(parties.map((p) => [p.id, p]));
      const bySource = new Map(
        records.map((r) => [sourceKey(r.system, r.sourceId), partyById.get(r.partyId as string) ?? null]),
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

    coversByPolicy: new DataLoader<string, PolicyCover[]>(async (keys) => {
      const pairs = keys.map(splitKey);
      const rows = await em.find(
        PolicyCover,
        { $or: pairs.map(([system, policyNo]) => ({ system, policyNo })), deleted: false },
        { orderBy: { coverage: 'asc', rider: 'asc' } },
      );
      const grouped = groupBy(rows, (r) => policyKey(r.system, r.policyNo));
      return keys.map((k) => grouped.get(k) ?? []);
    }),

    participantsByPolicy: new DataLoader<string, PolicyRole[]>(async (keys) => {
      const pairs = keys.map(splitKey);
      const rows = await em.find(
        PolicyRole,
        { $or: pairs.map(([system, policyNo]) => ({ system, policyNo })), deleted: false },
        { orderBy: { role: 'asc', beneficiaryOrder: 'asc', clientSourceId: 'asc' } },
      );
      const grouped = groupBy(rows, (r) => policyKey(r.system, r.policyNo));
      return keys.map((k) => grouped.get(k) ?? []);
    }),

    policy: new DataLoader<string, Policy | null>(async (keys) => {
      const pairs = keys.map(splitKey);
      const rows = await em.find(Policy, {
        $or: pairs.map(([system, policyNo]) => ({ system, policyNo })),
        deleted: false,
      });
      const byKey = new Map(rows.map((r) => [policyKey(r.system, r.policyNo), r]));
      return keys.map((k) => byKey.get(k) ?? null);
    }),
  };
}
