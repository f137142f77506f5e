import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { byColumn, chunked, unnestOf } from '../db/sql-sets.ts';
import { copyRows } from '../db/copy.ts';

/**
 * Golden-record change events for downstream systems (policy, claims, marketing): one event per golden-record
 * version, written to the outbox in the transaction that writes the version's history row, published to
 * `hub.customers.v1` (behind KAFKA_TOPIC_PREFIX) keyed by the golden id, so one customer's events stay in order.
 * Events carry ids, versions and the names of what changed — never personal values: a consumer that needs the
 * values fetches the customer through GraphQL, masked for its role. Schema: docs/events.md.
 */
export const customerEventsTopic = 'hub.customers.v1';
export const customerEventsSchemaVersion = 1;

export type CustomerEventType = 'CREATED' | 'UPDATED' | 'MERGED' | 'SPLIT' | 'RETIRED' | 'ERASED';

/** What a history row says about a version, as the writer knows it. */
export type VersionChange = {
  partyId: string;
  version: number;
  cause: string;
  detail: Record<string, unknown>;
  /** The golden record's status after the change. */
  status: string;
  /** The first version of a new golden record. */
  created?: boolean;
  /** Golden attributes whose value changed. */
  changedAttributes?: readonly string[];
  /** Golden attributes whose value now comes from another source record or event (lineage). */
  sourcesChanged?: readonly string[];
};

export type CustomerEvent = {
  schemaVersion: number;
  eventId: string;
  type: CustomerEventType;
  customerId: string;
  version: number;
  status: string;
  cause: string;
  occurredAt: string;
  changedAttributes: string[];
  sourcesChanged: string[];
  /** MERGED: the golden record this one now resolves to. */
  survivorId?: string;
  /** UPDATED of a survivor: the golden records merged into it by this change. */
  mergedIds?: string[];
  /** CREATED by a split: the golden record the new one was split from. */
  splitFrom?: string;
  /** SPLIT: the golden records that took records away from this one. */
  splitInto?: string[];
};

const ids = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter(
    (x): x is string => typeof x === 'string' && /^[0-9a-f-]{36}$/i.test(x),
  );

export function customerEventOf(change: VersionChange, at = new Date()): CustomerEvent {
  const d = change.detail;
  const base = {
    schemaVersion: customerEventsSchemaVersion,
    eventId: randomUUID(),
    customerId: change.partyId,
    version: change.version,
    status: change.status,
    cause: change.cause,
    occurredAt: at.toISOString(),
    changedAttributes: [...(change.changedAttributes ?? [])],
    sourcesChanged: [...(change.sourcesChanged ?? [])],
  };
  if (change.cause === 'MERGED_INTO') return { ...base, type: 'MERGED', survivorId: ids(d.survivor)[0] };
  if (change.cause === 'ERASED') return { ...base, type: 'ERASED' };
  if (change.created) {
    const from = ids(d.splitFrom ?? d.from)[0];
    return { ...base, type: 'CREATED', ...(from ? { splitFrom: from } : {}) };
  }
  if (change.status === 'INACTIVE' && change.cause === 'DEACTIVATED') return { ...base, type: 'RETIRED' };
  const splitInto = ids(d.splitInto ?? d.to ?? d.movedTo);
  if ((change.cause === 'UNMERGE' || d.splitRecord !== undefined) && splitInto.length > 0)
    return { ...base, type: 'SPLIT', splitInto };
  const merged = ids(d.merged);
  return { ...base, type: 'UPDATED', ...(merged.length > 0 ? { mergedIds: merged } : {}) };
}

/**
 * Writes one event per version change to the outbox, in the caller's transaction; 'copy' (the bulk load's
 * thousands at once) streams them with COPY instead of binding them to an insert.
 */
export async function writeCustomerEvents(
  em: EntityManager,
  changes: readonly VersionChange[],
  how: 'values' | 'copy' = 'values',
): Promise<void> {
  if (changes.length === 0) return;
  const at = new Date();
  if (how === 'copy') {
    await copyRows(
      em,
      'outbox',
      ['id', 'topic', 'message_key', 'payload'],
      changes.map((c) => [randomUUID(), customerEventsTopic, c.partyId, customerEventOf(c, at)]),
    );
    return;
  }
  for (const chunk of chunked(changes, 1000)) {
    await executeBound(
      em,
      `insert into outbox (id, topic, message_key, payload) select gen_random_uuid(), ?::text, v.* from ${unnestOf(['text', 'jsonb'])} as v`,
      [
        customerEventsTopic,
        ...byColumn(
          chunk.map((c) => [c.partyId, JSON.stringify(customerEventOf(c, at))]),
          2,
        ),
      ],
      { prepared: true },
    );
  }
}
