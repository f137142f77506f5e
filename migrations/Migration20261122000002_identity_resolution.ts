import { Migration } from '@mikro-orm/migrations';

/**
 * Identity resolution: blocking keys of every live source record (candidate search), the versioned history of
 * golden records with the cause of each change, the review queue of possible matches, remembered rejections,
 * and the explanation of each record's link.
 */
export class Migration20261122000002_identity_resolution extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table source_record drop constraint if exists source_record_link_type_check;`);
    this.addSql(`alter table source_record add column match_explanation jsonb;`);
    this.addSql(
      `alter table source_record add constraint source_record_link_type_check check (link_type in ('EXACT_ID','PROBABILISTIC','NEW','MANUAL','UNLINKED'));`,
    );

    this.addSql(`create table match_key (
      key text not null,
      source_record_id uuid not null references source_record(id) on delete cascade,
      primary key (key, source_record_id));`);
    this.addSql(`create index match_key_record on match_key (source_record_id);`);

    this.addSql(`create table party_history (
      id uuid primary key,
      party_id uuid not null references party(id),
      version int not null,
      cause text not null check (cause in ('CREATED','SOURCE_CHANGE','MATCH','MERGE','MERGED_INTO','UNMERGE','STEWARD_ACTION','DEACTIVATED')),
      detail jsonb not null default '{}',
      snapshot jsonb not null,
      created_at timestamptz not null default now());`);
    this.addSql(`create index party_history_party on party_history (party_id, version);`);

    this.addSql(`create table review_task (
      id uuid primary key,
      source_record_id uuid not null references source_record(id),
      candidate_party_id uuid not null references party(id),
      probability double precision not null,
      explanation jsonb not null,
      status text not null default 'OPEN' check (status in ('OPEN','CONFIRMED','REJECTED','OBSOLETE')),
      decided_by text, decided_at timestamptz, reason text,
      created_at timestamptz not null default now());`);
    this.addSql(
      `create unique index review_task_open on review_task (source_record_id, candidate_party_id) where status = 'OPEN';`,
    );

    this.addSql(`create table match_rejection (
      source_record_id uuid not null references source_record(id),
      party_id uuid not null references party(id),
      rejected_by text not null,
      rejected_at timestamptz not null default now(),
      primary key (source_record_id, party_id));`);
  }
}
