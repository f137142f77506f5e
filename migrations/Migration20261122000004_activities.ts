import { Migration } from '@mikro-orm/migrations';

/**
 * What customers do, from every source: payments, claims, interactions (calls, complaints, follow-ups),
 * leads and referrals, consents, bank-branch sales. One table keyed by each source's natural key, with the
 * columns users filter on (kind, type, status, time, amount, policy) typed and the rest of the record in `data`.
 * The customer is referenced by the source record that identifies them (party_system, party_source_id) or, for
 * calls, by the caller's phone key: an activity that arrives before its customer links up when they arrive.
 */
export class Migration20261122000004_activities extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table activity (
      id uuid primary key,
      kind text not null check (kind in ('PAYMENT','CLAIM','INTERACTION','LEAD','CONSENT','REGISTRATION','BANK_SALE')),
      system text not null, source_key text not null,
      party_system text, party_source_id text, caller_phone_key text,
      policy_no text, occurred_at timestamptz, type text, status text, amount numeric(18,2),
      data jsonb not null default '{}',
      source_version bigint not null, deleted boolean not null default false,
      updated_at timestamptz not null default now(),
      unique (kind, system, source_key));`);
    this.addSql(`create index activity_party on activity (party_system, party_source_id) where not deleted;`);
    this.addSql(
      `create index activity_caller on activity (caller_phone_key) where caller_phone_key is not null and not deleted;`,
    );
    this.addSql(`create index activity_policy on activity (policy_no) where policy_no is not null;`);
    this.addSql(`create index activity_kind_time on activity (kind, occurred_at);`);
    this.addSql(`alter table quarantined_event add column dlq_published_at timestamptz;`);
    this.addSql(
      `create index quarantined_unpublished on quarantined_event (received_at) where dlq_published_at is null;`,
    );
  }
}
