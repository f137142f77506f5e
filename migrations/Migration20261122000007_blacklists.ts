import { Migration } from '@mikro-orm/migrations';

/**
 * Blacklists with maker–checker, their audit trail, the screening keys of every entry (id number, phone, bank
 * account, credit code, name key and name pinyin — looked up by hash, so screening cost does not grow with the
 * lists), and screening hits with their review state.
 */
export class Migration20261122000007_blacklists extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table blacklist_entry (
      id uuid primary key,
      list text not null check (list in ('INTERNAL_FRAUD','BAD_DEBT','SANCTIONS','ALLOW')),
      status text not null check (status in ('PROPOSED','ACTIVE','INACTIVE','EXPIRED','SUSPENDED','REJECTED')),
      id_number text, full_name text, name_key text, name_pinyin text, birth_date date, phone_key text, bank_account text, credit_code text,
      reason text not null, authority text,
      listed_on date not null default current_date, effective_from date, effective_to date,
      proposed_by text not null, approved_by text,
      version int not null default 1,
      created_at timestamptz not null default now(), updated_at timestamptz not null default now());`);
    this.addSql(`create table blacklist_audit (
      id uuid primary key, entry_id uuid not null references blacklist_entry(id),
      action text not null, actor text not null, detail jsonb not null default '{}', at timestamptz not null default now());`);
    this.addSql(`create index blacklist_audit_entry on blacklist_audit (entry_id, at);`);
    this.addSql(`create table blacklist_key (
      key_hash bigint not null, entry_id uuid not null references blacklist_entry(id), primary key (key_hash, entry_id));`);
    this.addSql(`create table screening_hit (
      id uuid primary key,
      party_id uuid not null references party(id), entry_id uuid not null references blacklist_entry(id),
      score double precision not null, matched jsonb not null,
      status text not null default 'OPEN' check (status in ('OPEN','DISMISSED')),
      dismissed_by text, dismissed_reason text, dismissed_at timestamptz,
      entry_version int not null, party_version int not null,
      created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
      unique (party_id, entry_id));`);
    this.addSql(`create index screening_hit_party on screening_hit (party_id);`);
  }
}
