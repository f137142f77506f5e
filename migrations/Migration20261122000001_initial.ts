import { Migration } from '@mikro-orm/migrations';

/** Canonical model v1: golden parties with lineage, source records (crosswalk), policies, ingest bookkeeping. */
export class Migration20261122000001_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);

    this.addSql(`create table party (
      id uuid primary key,
      kind text not null check (kind in ('PERSON','ORGANISATION')),
      status text not null default 'ACTIVE' check (status in ('ACTIVE','INACTIVE','MERGED')),
      display_name text, name_key text, family_name text, given_name text,
      birth_date date, sex text check (sex in ('M','F','U')), occupation_code text,
      lineage jsonb not null default '{}',
      merged_into_id uuid references party(id),
      version int not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now());`);
    this.addSql(`create index party_name_key_trgm on party using gin (name_key gin_trgm_ops);`);
    this.addSql(`create index party_name_key on party (name_key);`);

    this.addSql(`create table source_record (
      id uuid primary key,
      system text not null, source_id text not null,
      party_id uuid references party(id),
      link_type text not null default 'UNLINKED', link_score double precision, linked_at timestamptz,
      raw jsonb, attributes jsonb,
      source_time timestamptz, source_version bigint not null,
      deleted boolean not null default false,
      updated_at timestamptz not null default now(),
      unique (system, source_id));`);
    this.addSql(`create index source_record_party on source_record (party_id);`);

    this.addSql(`create table party_identifier (
      id uuid primary key,
      party_id uuid not null references party(id) on delete cascade,
      source_record_id uuid not null references source_record(id) on delete cascade,
      type text not null, value text, raw text,
      valid boolean not null, issues jsonb not null default '[]');`);
    this.addSql(`create index party_identifier_party on party_identifier (party_id);`);
    this.addSql(`create index party_identifier_value on party_identifier (value, type);`);

    this.addSql(`create table contact_point (
      id uuid primary key,
      party_id uuid not null references party(id) on delete cascade,
      source_record_id uuid not null references source_record(id) on delete cascade,
      kind text not null check (kind in ('MOBILE','LANDLINE','EMAIL','ADDRESS')),
      value text, raw text, search_key text,
      valid boolean not null, issues jsonb not null default '[]',
      valid_from timestamptz, valid_to timestamptz);`);
    this.addSql(`create index contact_point_party on contact_point (party_id);`);
    this.addSql(`create index contact_point_search on contact_point (search_key);`);

    this.addSql(`create table policy (
      id uuid primary key,
      system text not null, policy_no text not null,
      product_code text, status text, commencement_date date, paid_to_date date,
      sum_insured numeric(18,2), premium numeric(18,2),
      billing_frequency text, channel text, agent_code text,
      source_time timestamptz, source_version bigint not null,
      deleted boolean not null default false,
      unique (system, policy_no));`);

    this.addSql(`create table policy_cover (
      id uuid primary key,
      system text not null, policy_no text not null, coverage text not null, rider text not null,
      product_code text, sum_insured numeric(18,2), premium numeric(18,2), status text,
      source_version bigint not null, deleted boolean not null default false,
      unique (system, policy_no, coverage, rider));`);

    this.addSql(`create table policy_role (
      id uuid primary key,
      system text not null, policy_no text not null, client_source_id text not null,
      role text not null check (role in ('POLICYHOLDER','INSURED','BENEFICIARY','PAYER')),
      beneficiary_order int, share_percent numeric(5,2), current boolean not null,
      source_version bigint not null, deleted boolean not null default false,
      unique (system, policy_no, client_source_id, role));`);
    this.addSql(`create index policy_role_client on policy_role (system, client_source_id);`);

    this.addSql(`create table consumer_offset (
      consumer_group text not null, topic text not null, partition int not null,
      next_offset bigint not null, updated_at timestamptz not null default now(),
      primary key (consumer_group, topic, partition));`);

    this.addSql(`create table quarantined_event (
      id uuid primary key,
      connector text not null, topic text not null, partition int not null, "offset" bigint not null,
      message_key text, message_value text,
      error_code text not null, reason text not null,
      received_at timestamptz not null default now(),
      unique (topic, partition, "offset"));`);
  }
}
