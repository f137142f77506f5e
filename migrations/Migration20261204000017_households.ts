import { Migration } from '@mikro-orm/migrations';

/**
 * Relationships and households (src/relations), and network exclusions found by frequency (src/risk).
 *
 * - policy_role.relation_code: the role holder's relation to the insured where the source gives one
 *   (spouse, child, parent, self, other).
 * - relationship: a derived edge between two golden records (party_a < party_b), one row per kind, with its
 *   evidence and the source it came from. Derived from policy roles and co-residence; recomputed for the
 *   customers a batch touched, so merges and splits carry relationships along.
 * - household / household_member / household_history: a persisted grouping of related customers, versioned;
 *   a steward's correction pins a member (derivation leaves pinned members where the steward put them).
 * - network_exclusion: a phone, address or bank account the network rules do not count (a switchboard, a
 *   branch address, an agent's mobile, a collection account): proposed by the hub when very many customers hold
 *   the value, or by a risk admin; approved or rejected by a (second) risk admin.
 */
export class Migration20261204000017_households extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table policy_role add column relation_code text;`);
    this.addSql(`create table relationship (
      party_a uuid not null references party(id) on delete cascade,
      party_b uuid not null references party(id) on delete cascade,
      kind text not null check (kind in ('SPOUSE','PARENT_CHILD','FAMILY','CO_RESIDENT','POLICY','EMPLOYMENT')),
      family boolean not null,
      evidence jsonb not null,
      source text not null,
      updated_at timestamptz not null default now(),
      check (party_a < party_b),
      primary key (party_a, party_b, kind));`);
    this.addSql(`create index relationship_b on relationship (party_b);`);
    this.addSql(`create table household (
      id uuid primary key,
      status text not null default 'ACTIVE' check (status in ('ACTIVE','RETIRED')),
      version int not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now());`);
    this.addSql(`create table household_member (
      party_id uuid primary key references party(id) on delete cascade,
      household_id uuid not null references household(id),
      pinned boolean not null default false,
      since timestamptz not null default now());`);
    this.addSql(`create index household_member_household on household_member (household_id);`);
    this.addSql(`create table household_history (
      id bigint generated always as identity primary key,
      household_id uuid not null references household(id),
      version int not null,
      action text not null,
      party_id uuid,
      actor text not null,
      reason text,
      at timestamptz not null default now());`);
    this.addSql(`create index household_history_household on household_history (household_id, id);`);
    this.addSql(`create table network_exclusion (
      id uuid primary key default gen_random_uuid(),
      contact text not null check (contact in ('PHONE','ADDRESS','BANK_ACCOUNT')),
      key text not null,
      holders int not null,
      status text not null default 'PROPOSED' check (status in ('PROPOSED','APPROVED','REJECTED')),
      proposed_by text not null,
      reason text not null,
      proposed_at timestamptz not null default now(),
      decided_by text,
      decided_at timestamptz,
      unique (contact, key));`);
  }
}
