import { Migration } from '@mikro-orm/migrations';

/**
 * Follow-ups due (回访, issue 15 part 2): tasks derived from policy, claim and agent events, one per event
 * (`dedup_key`, so replays and duplicates create nothing twice), closed by the matching contact-centre call;
 * the agent register (branch, departure) that orphaned-policy tasks come from; the versions of complaints the
 * hub has applied, for their age and reopen count; indexes for customer-care dates.
 */
export class Migration20261206000024_follow_ups extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table agent (
      code text primary key, branch text, departed_on date,
      updated_by text not null, updated_at timestamptz not null default now());`);
    this.addSql(`create table follow_up (
      id uuid primary key,
      type text not null check (type in ('NEW_BUSINESS','LAPSE','BENEFIT_PAYMENT','ORPHANED_POLICY')),
      dedup_key text not null unique,
      policy_system text, policy_no text,
      party_system text, party_source_id text,
      agent_code text, branch text,
      source_ref text,
      opened_at timestamptz not null, due_date date not null,
      status text not null default 'OPEN' check (status in ('OPEN','DONE','CANCELLED')),
      attempts int not null default 0, last_attempt_at timestamptz,
      closed_at timestamptz, closed_by_system text, closed_by_key text, outcome text, cancel_reason text,
      created_at timestamptz not null default now(), updated_at timestamptz not null default now());`);
    this.addSql(`create index follow_up_status_due on follow_up (status, due_date, id);`);
    this.addSql(`create index follow_up_policy on follow_up (policy_no) where status = 'OPEN';`);
    this.addSql(`create index follow_up_party on follow_up (party_system, party_source_id);`);
    this.addSql(`create index follow_up_branch on follow_up (branch, due_date, id);`);
    this.addSql(`create table complaint_status_event (
      system text not null, source_key text not null, source_version bigint not null,
      status text, at timestamptz, primary key (system, source_key, source_version));`);
    this.addSql(
      `create index activity_complaint on activity (occurred_at, id) where kind = 'INTERACTION' and type = 'COMPLAINT' and not deleted;`,
    );
    this.addSql(`create index policy_agent on policy (agent_code) where not deleted;`);
    // Month and day as one number (1231): the care-date lists look up the next N days' values.
    this.addSql(
      `create index party_birthday on party (((extract(month from birth_date) * 100 + extract(day from birth_date))::int)) where status = 'ACTIVE' and birth_date is not null;`,
    );
    this.addSql(
      `create index policy_anniversary on policy (((extract(month from commencement_date) * 100 + extract(day from commencement_date))::int)) where not deleted and commencement_date is not null;`,
    );
  }
}
