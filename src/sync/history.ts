import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { byColumn, unnestOf } from '../db/sql-sets.ts';
import { copyRows } from '../db/copy.ts';
import { randomUUID } from 'node:crypto';
import { writeCustomerEvents } from './customer-events.ts';

/** Why a golden record got a new version (party_history.cause). */
export type HistoryCause =
  | 'CREATED'
  | 'SOURCE_CHANGE'
  | 'MATCH'
  | 'MERGE'
  | 'MERGED_INTO'
  | 'UNMERGE'
  | 'STEWARD_ACTION'
  | 'DEACTIVATED'
  | 'ERASED';

/** One history row per golden-record version: its cause, what triggered it, and the values after it. */
export async function writeHistory(
  em: EntityManager,
  partyId: string,
  version: number,
  cause: HistoryCause,
  detail: Record<string, unknown>,
  snapshot: unknown,
): Promise<void> {
  await writeHistories(em, [{ partyId, version, cause, detail, snapshot }]);
}

/**
 * Every history row goes with its change event for downstream systems (src/sync/customer-events.ts), in the same
 * transaction: a version exists in the hub exactly when its event is on its way.
 */
export async function writeHistories(
  em: EntityManager,
  rows: readonly {
    partyId: string;
    version: number;
    cause: HistoryCause;
    detail: Record<string, unknown>;
    snapshot: unknown;
    created?: boolean;
    changedAttributes?: readonly string[];
    sourcesChanged?: readonly string[];
  }[],
  /** 'copy': many rows at once (the bulk load) streamed with COPY instead of bound to an insert. */
  how: 'values' | 'copy' = 'values',
): Promise<void> {
  if (rows.length === 0) return;
  if (how === 'copy') {
    await copyRows(
      em,
      'party_history',
      ['id', 'party_id', 'version', 'cause', 'detail', 'snapshot'],
      rows.map((r) => [randomUUID(), r.partyId, r.version, r.cause, r.detail, r.snapshot]),
    );
    await writeCustomerEvents(em, eventsOf(rows), 'copy');
    return;
  }
  await executeBound(
    em,
    `insert into party_history (id, party_id, version, cause, detail, snapshot)
       select gen_random_uuid(), v.* from ${unnestOf(['uuid', 'int', 'text', 'jsonb', 'jsonb'])} as v`,
    byColumn(
      rows.map((r) => [r.partyId, r.version, r.cause, JSON.stringify(r.detail), JSON.stringify(r.snapshot)]),
      5,
    ),
    { prepared: true },
  );
  await writeCustomerEvents(em, eventsOf(rows));
}

const eventsOf = <R extends { snapshot: unknown }>(rows: readonly R[]) =>
  rows.map((r) => ({ ...r, status: String((r.snapshot as { status?: unknown } | null)?.status ?? 'ACTIVE') }));
