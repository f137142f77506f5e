import { randomUUID } from 'node:crypto';
import { executeBound } from '../db/bound-sql.ts';
import { copyRows } from '../db/copy.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type {
  ActivityDelete,
  ActivityUpsert,
  CanonicalChange,
  CoverDelete,
  CoverUpsert,
  PolicyDelete,
  PolicyUpsert,
  RoleDelete,
  RoleUpsert,
} from '../domain/canonical.ts';
import { tally, type ApplyStats } from './apply-stats.ts';
import type { ActivityKind } from '../domain/activity.ts';
import {
  type ChangeSet,
  notedInteractionTypes,
  noteActivityChanged,
  notePolicyChanged,
  noteRolesChanged,
} from './change-set.ts';
import { recordConsentEvents } from './consent-history.ts';

/**
 * The set-based half of the sync step: policies, covers, roles and activities (payments, claims,
 * interactions, …) are keyed by the source's natural keys and never need matching, so a whole batch of them is
 * written with one multi-row upsert per table instead of one statement per event — this is what lets the hub
 * keep up with a source system's change stream (bench/ingest.bench.ts).
 *
 * Semantics are those of applying the changes one by one: the database row is only overwritten by a strictly
 * newer version, so duplicates and out-of-order redeliveries are no-ops. A delete is an upsert of `deleted = true` that keeps the last known data, so a late older create
 * cannot bring the row back and the claim a delete removes can still be traced to its customer.
 */
export type FactChange =
  | PolicyUpsert
  | PolicyDelete
  | CoverUpsert
  | CoverDelete
  | RoleUpsert
  | RoleDelete
  | ActivityUpsert
  | ActivityDelete;

export function isFact(change: CanonicalChange): change is FactChange {
  return change.entity !== 'party';
}

type Table = {
  name: string;
  keyColumns: string[];
  /** Columns that keep their stored value when a delete (tombstone) arrives. */
  dataColumns: string[];
  /** Extra SET expressions computed from the stored and the incoming row (`t` = stored, `excluded` = incoming). */
  derived?: Record<string, string>;
  returning: string;
};

const tables = {
  policy: {
    name: 'policy',
    keyColumns: ['system', 'policy_no'],
    dataColumns: [
      'product_code',
      'status',
      'commencement_date',
      'paid_to_date',
      'sum_insured',
      'premium',
      'billing_frequency',
      'channel',
      'agent_code',
      'source_time',
    ],
    derived: {
      // The source sends state, not transitions: the hub notices them here, where old and new meet.
      reinstated_at: `case when excluded.status = 'RI' and t.status is distinct from 'RI' then excluded.source_time else t.reinstated_at end`,
      sum_insured_increased_at: `case when excluded.sum_insured > t.sum_insured then excluded.source_time else t.sum_insured_increased_at end`,
    },
    returning: 'system, policy_no',
  },
  policy_cover: {
    name: 'policy_cover',
    keyColumns: ['system', 'policy_no', 'coverage', 'rider'],
    dataColumns: ['product_code', 'sum_insured', 'premium', 'status'],
    returning: 'system, policy_no',
  },
  policy_role: {
    name: 'policy_role',
    keyColumns: ['system', 'policy_no', 'client_source_id', 'role'],
    dataColumns: ['beneficiary_order', 'share_percent', 'current', 'relation_code'],
    returning: 'system, policy_no',
  },
  activity: {
    name: 'activity',
    keyColumns: ['kind', 'system', 'source_key'],
    dataColumns: [
      'party_system',
      'party_source_id',
      'caller_phone_key',
      'policy_no',
      'occurred_at',
      'type',
      'status',
      'amount',
      'data',
    ],
    returning: `system, kind, party_system, party_source_id, source_key, type, status, policy_no, source_version::text as source_version, occurred_at`,
  },
} satisfies Record<string, Table>;

type Row = Record<string, unknown> & { source_version: string; deleted: boolean };

function policyRow(c: PolicyUpsert | PolicyDelete): Row {
  const d = c.op === 'upsert' ? c.data : null;
  return {
    id: randomUUID(),
    system: c.system,
    policy_no: c.policyNo,
    product_code: d?.productCode ?? null,
    status: d?.status ?? null,
    commencement_date: d?.commencementDate ?? null,
    paid_to_date: d?.paidToDate ?? null,
    sum_insured: d?.sumInsured ?? null,
    premium: d?.premium ?? null,
    billing_frequency: d?.billingFrequency ?? null,
    channel: d?.channel ?? null,
    agent_code: d?.agentCode ?? null,
    source_time: c.sourceTime,
    // A policy first seen in status RI was reinstated (as far as the hub can know) when the source says so.
    reinstated_at: d?.status === 'RI' ? c.sourceTime : null,
    sum_insured_increased_at: null,
    source_version: c.sourceVersion,
    deleted: c.op === 'delete',
  };
}

function coverRow(c: CoverUpsert | CoverDelete): Row {
  const d = c.op === 'upsert' ? c.data : null;
  return {
    id: randomUUID(),
    system: c.system,
    policy_no: c.key.policyNo,
    coverage: c.key.coverage,
    rider: c.key.rider,
    product_code: d?.productCode ?? null,
    sum_insured: d?.sumInsured ?? null,
    premium: d?.premium ?? null,
    status: d?.status ?? null,
    source_version: c.sourceVersion,
    deleted: c.op === 'delete',
  };
}

function roleRow(c: RoleUpsert | RoleDelete): Row {
  const d = c.op === 'upsert' ? c.data : null;
  return {
    id: randomUUID(),
    system: c.system,
    policy_no: c.key.policyNo,
    client_source_id: c.key.clientSourceId,
    role: c.key.role,
    beneficiary_order: d?.beneficiaryOrder ?? null,
    share_percent: d?.sharePercent ?? null,
    current: d?.current ?? false,
    relation_code: d?.relationCode ?? null,
    source_version: c.sourceVersion,
    deleted: c.op === 'delete',
  };
}

function activityRow(c: ActivityUpsert | ActivityDelete): Row {
  const d = c.op === 'upsert' ? c.data : null;
  return {
    id: randomUUID(),
    kind: c.kind,
    system: c.system,
    source_key: c.sourceKey,
    party_system: d?.party?.system ?? null,
    party_source_id: d?.party?.sourceId ?? null,
    caller_phone_key: d?.callerPhoneKey ?? null,
    policy_no: d?.policyNo ?? null,
    occurred_at: d?.occurredAt ?? null,
    type: d?.type ?? null,
    status: d?.status ?? null,
    amount: d?.amount ?? null,
    data: JSON.stringify(d?.details ?? {}),
    source_version: c.sourceVersion,
    deleted: c.op === 'delete',
  };
}

function toRow(c: FactChange): { table: keyof typeof tables; row: Row } {
  switch (c.entity) {
    case 'policy':
      return { table: 'policy', row: policyRow(c) };
    case 'policyCover':
      return { table: 'policy_cover', row: coverRow(c) };
    case 'policyRole':
      return { table: 'policy_role', row: roleRow(c) };
    case 'activity':
      return { table: 'activity', row: activityRow(c) };
  }
}

/** PostgreSQL binds at most 65,535 parameters per statement. */
const maxParams = 60_000;

/**
 * Applies fact changes set-wise: one upsert per table and round. A key that changes several times in the batch
 * (a create and its delete) gets one round per version, in version order, so the outcome is exactly that of
 * applying the changes one by one — a tombstone keeps the data of the create before it.
 */
export async function applyFacts(
  em: EntityManager,
  changes: readonly FactChange[],
  stats: ApplyStats,
  changed: ChangeSet,
  /** 'copy' (the bulk load): each round's rows go to a staging table with COPY and are upserted from there. */
  how: 'values' | 'copy' = 'values',
): Promise<void> {
  const byTable = new Map<keyof typeof tables, Map<string, Row[]>>();
  for (const change of changes) {
    const { table, row } = toRow(change);
    const rows = byTable.get(table) ?? new Map<string, Row[]>();
    byTable.set(table, rows);
    const key = tables[table].keyColumns.map((k) => String(row[k])).join('\u0000');
    rows.set(key, [...(rows.get(key) ?? []), row]);
  }
  const applied = new Map<string, number>();
  for (const [name, rowsByKey] of byTable) {
    const table: Table = tables[name];
    const sorted = [...rowsByKey.values()].map((list) =>
      list.sort((a, b) =>
        BigInt(a.source_version) < BigInt(b.source_version)
          ? -1
          : BigInt(a.source_version) > BigInt(b.source_version)
            ? 1
            : 0,
      ),
    );
    // The bulk load collapses a key's versions to the row applying them one by one ends in, where no column is
    // derived from the transition between two versions: a key updated a thousand times in a snapshot's history
    // is then one row, not a thousand rounds.
    const versions = how === 'copy' && !table.derived ? sorted.map(collapseVersions(table)) : sorted;
    const columns = Object.keys(versions[0]?.[0] ?? {});
    const perStatement = how === 'copy' ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(maxParams / columns.length));
    for (let round = 0; ; round += 1) {
      const rows = versions.flatMap((list) => list.slice(round, round + 1));
      if (rows.length === 0) break;
      for (let i = 0; i < rows.length; i += perStatement) {
        const part = rows.slice(i, i + perStatement);
        const returned =
          how === 'copy' && part.length >= 1_000
            ? await upsertStaged(em, table, columns, part)
            : await upsert(em, table, columns, part);
        for (const r of returned) applied.set(r.system as string, (applied.get(r.system as string) ?? 0) + 1);
        noteChanges(name, returned, changed);
      }
    }
  }
  await recordConsentEvents(em, changes);
  const seen = new Map<string, number>();
  for (const c of changes) seen.set(c.system, (seen.get(c.system) ?? 0) + 1);
  for (const [system, n] of seen) tally(stats, system, applied.get(system) ?? 0, n - (applied.get(system) ?? 0));
}

/**
 * The state a key's versions (sorted, oldest first) end in when upserted one by one: the newest row, except that a
 * tombstone keeps the data columns it found stored (the newest row before it, itself possibly a tombstone).
 */
const collapseVersions =
  (table: Table) =>
  (list: Row[]): Row[] => {
    let state: Row | undefined;
    for (const row of list) {
      if (state === undefined || !row.deleted) state = row;
      else {
        const kept: Row = { ...row };
        for (const c of table.dataColumns) kept[c] = state[c];
        state = kept;
      }
    }
    return state === undefined ? [] : [state];
  };

/** The SET list of a version-guarded upsert: a tombstone keeps the stored data; derived columns see both rows. */
function upsertSet(table: Table, columns: readonly string[]): string[] {
  const set = columns
    .filter((c) => c !== 'id' && !table.keyColumns.includes(c) && !(table.derived && c in table.derived))
    .map((c) =>
      table.dataColumns.includes(c)
        ? `${c} = case when excluded.deleted then t.${c} else excluded.${c} end`
        : `${c} = excluded.${c}`,
    );
  for (const [c, expr] of Object.entries(table.derived ?? {})) set.push(`${c} = ${expr}`);
  return set;
}

async function upsert(
  em: EntityManager,
  table: Table,
  columns: string[],
  rows: Row[],
): Promise<Record<string, string | null>[]> {
  const cast = (c: string) => (c === 'data' ? '?::jsonb' : '?');
  return executeBound<Record<string, string | null>[]>(
    em,
    `insert into ${table.name} as t (${columns.join(', ')}) values ${rows.map(() => `(${columns.map(cast).join(', ')})`).join(', ')}
     on conflict (${table.keyColumns.join(', ')}) do update set ${upsertSet(table, columns).join(', ')}
     where t.source_version < excluded.source_version
     returning ${table.returning}`,
    rows.flatMap((r) => columns.map((c) => r[c])),
  );
}

/** The same upsert with the rows COPYed into a staging table (a temporary copy of the table's columns) first. */
async function upsertStaged(
  em: EntityManager,
  table: Table,
  columns: string[],
  rows: Row[],
): Promise<Record<string, string | null>[]> {
  const stage = `stage_${table.name}`;
  await executeBound(
    em,
    `create temporary table if not exists ${stage} (like ${table.name} including defaults) on commit drop`,
  );
  await executeBound(em, `truncate ${stage}`);
  await copyRows(
    em,
    stage,
    columns,
    rows.map((r) => columns.map((c) => r[c])),
  );
  return executeBound<Record<string, string | null>[]>(
    em,
    `insert into ${table.name} as t (${columns.join(', ')}) select ${columns.join(', ')} from ${stage}
     on conflict (${table.keyColumns.join(', ')}) do update set ${upsertSet(table, columns).join(', ')}
     where t.source_version < excluded.source_version
     returning ${table.returning}`,
  );
}

/** Reports what the written rows changed: activities per owning source record and kind, and policies. */
function noteChanges(table: keyof typeof tables, returned: Record<string, string | null>[], changes: ChangeSet): void {
  for (const r of returned) {
    if (table === 'activity') {
      if (r.kind && r.party_system && r.party_source_id)
        noteActivityChanged(changes, r.party_system, r.party_source_id, r.kind as ActivityKind);
      if (r.kind === 'INTERACTION' && r.type && notedInteractionTypes.has(r.type) && r.system && r.source_key)
        changes.interactions.push({
          system: r.system,
          sourceKey: r.source_key,
          type: r.type,
          status: r.status ?? null,
          policyNo: r.policy_no ?? null,
          partySystem: r.party_system ?? null,
          partySourceId: r.party_source_id ?? null,
          sourceVersion: String(r.source_version),
          at: r.occurred_at ? new Date(r.occurred_at).toISOString() : null,
        });
    } else if (table === 'policy' && r.system && r.policy_no) {
      notePolicyChanged(changes, r.system, r.policy_no);
    } else if (table === 'policy_role' && r.system && r.policy_no) {
      noteRolesChanged(changes, r.system, r.policy_no);
    }
  }
}
