import type { EntityManager } from '@mikro-orm/postgresql';
import { refreshHouseholds } from './households.ts';
import { refreshRelationships } from './relationships.ts';

/**
 * Brings relationships and households up to date for customers whose records, policy roles or merges changed;
 * returns everyone whose relationships or household changed (the network rules count them differently now).
 */
export async function refreshRelations(em: EntityManager, partyIds: Iterable<string>): Promise<Set<string>> {
  const ids = [...partyIds];
  if (ids.length === 0) return new Set();
  const edgesChanged = await refreshRelationships(em, ids);
  const moved = await refreshHouseholds(em, [...edgesChanged]);
  return new Set([...edgesChanged, ...moved]);
}
