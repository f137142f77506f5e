import { Migration } from '@mikro-orm/migrations';

/**
 * The consent registry (issue 15 part 3). Consents arrive as the app's CONSENT_CHANGED events; `activity` keeps
 * only the latest state per user, purpose and channel (kind CONSENT). `consent_event` keeps every state change
 * with the event that made it — what `Customer.consents` shows as history and `Customer.mayContact` cites as its
 * reason. Written by the sync step beside the activity upsert (src/sync/consent-history.ts), one row per source
 * version, so a redelivered event adds nothing and a late one lands in its place. Existing consents are copied
 * in as their latest state (the only one the hub kept).
 */
export class Migration20261206000021_consents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table consent_event (
      id uuid primary key default gen_random_uuid(),
      system text not null, source_key text not null,
      party_system text, party_source_id text,
      purpose text not null, channel text not null,
      status text not null check (status in ('GRANTED','WITHDRAWN')),
      occurred_at timestamptz, event_id text,
      source_version bigint not null,
      received_at timestamptz not null default now(),
      unique (system, source_key, source_version));`);
    this.addSql(`create index consent_event_party on consent_event (party_system, party_source_id);`);
    this.addSql(`insert into consent_event (system, source_key, party_system, party_source_id, purpose, channel, status, occurred_at, event_id, source_version)
      select system, source_key, party_system, party_source_id, type, coalesce(data->>'channel', 'UNKNOWN'), status, occurred_at, data->>'eventId', source_version
        from activity where kind = 'CONSENT' and not deleted and type is not null and status in ('GRANTED','WITHDRAWN')
      on conflict do nothing;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists consent_event;`);
  }
}
