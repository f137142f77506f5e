import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks } from '../db/sql-sets.ts';
import type { ActivityUpsert } from '../domain/canonical.ts';

type ConsentUpsert = Extract<ActivityUpsert, { kind: 'CONSENT' }>;

/**
 * Every consent change (a CONSENT activity: purpose in `type`, GRANTED or WITHDRAWN in `status`, channel and event
 * id in the details) is kept as a row of `consent_event`, whatever order it arrives in: one row per source version,
 * so a redelivery adds nothing. The activity itself keeps only the latest state; this is the history behind it.
 */
export async function recordConsentEvents(em: EntityManager, changes: readonly { entity: string }[]): Promise<void> {
  const consents = changes.filter(
    (c): c is ConsentUpsert =>
      c.entity === 'activity' &&
      (c as ActivityUpsert).op === 'upsert' &&
      (c as ActivityUpsert).kind === 'CONSENT' &&
      (c as ConsentUpsert).data.type !== null &&
      ((c as ConsentUpsert).data.status === 'GRANTED' || (c as ConsentUpsert).data.status === 'WITHDRAWN'),
  );
  for (const chunk of chunked(consents, 500)) {
    await executeBound(
      em,
      `insert into consent_event (system, source_key, party_system, party_source_id, purpose, channel, status, occurred_at, event_id, source_version)
       values ${marks(chunk.length, '(?, ?, ?, ?, ?, ?, ?, ?::timestamptz, ?, ?)')} on conflict (system, source_key, source_version) do nothing`,
      chunk.flatMap((c) => [
        c.system,
        c.sourceKey,
        c.data.party?.system ?? null,
        c.data.party?.sourceId ?? null,
        c.data.type,
        c.data.details.channel,
        c.data.status,
        c.data.occurredAt,
        c.data.details.eventId ?? null,
        c.sourceVersion,
      ]),
    );
  }
}
