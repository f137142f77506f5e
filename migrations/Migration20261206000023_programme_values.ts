import { Migration } from '@mikro-orm/migrations';

/**
 * The customer programme's value and segments (issue 15 part 1): thresholds and segment definitions as versioned
 * configuration (like alert_rule), the value of each golden customer as derived, the queue of derivation work
 * that streaming ingest fills (like risk_work), and recompute jobs with their progress.
 */
export class Migration20261206000023_programme_values extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table programme_rule (
      code text primary key,
      kind text not null check (kind in ('THRESHOLDS','SEGMENT')),
      params jsonb not null, enabled boolean not null default true,
      version int not null default 1, updated_by text not null default 'system', updated_at timestamptz not null default now());`);
    this.addSql(`create table programme_rule_version (
      code text not null references programme_rule(code), version int not null, params jsonb not null, enabled boolean not null,
      updated_by text not null, updated_at timestamptz not null, primary key (code, version));`);
    this.addSql(`insert into programme_rule (code, kind, params) values
      ('THRESHOLDS', 'THRESHOLDS', '{
        "newCustomerDays": 90, "lapsingOverdueDays": 0, "churnAfterLapseDays": 730,
        "tiers": [{"code": "PLATINUM", "minAnnualisedPremium": 50000}, {"code": "GOLD", "minAnnualisedPremium": 20000}, {"code": "SILVER", "minAnnualisedPremium": 5000}],
        "defaultTier": "STANDARD",
        "coolingOffDays": 15, "lapseFollowUpDays": 30, "benefitFollowUpDays": 7, "orphanFollowUpDays": 30,
        "followUpMaxAgeDays": 60, "complaintDueDays": 15}'),
      ('VIP', 'SEGMENT', '{"purpose": "SERVICE", "when": [{"metric": "tier", "op": "in", "value": ["PLATINUM", "GOLD"]}]}'),
      ('CLAIMANT', 'SEGMENT', '{"purpose": "SERVICE", "when": [{"metric": "claimsCount", "op": "gte", "value": 1}]}'),
      ('LAPSING', 'SEGMENT', '{"purpose": "SERVICE", "when": [{"metric": "lifecycle", "op": "in", "value": ["LAPSING", "LAPSED"]}]}'),
      ('ORPHANED', 'SEGMENT', '{"purpose": "SERVICE", "when": [{"metric": "orphanedPolicies", "op": "gte", "value": 1}]}'),
      ('CROSS_SELL', 'SEGMENT', '{"purpose": "MARKETING", "when": [{"metric": "lifecycle", "op": "in", "value": ["NEW", "ACTIVE"]}, {"metric": "policiesInForce", "op": "eq", "value": 1}, {"metric": "claimsCount", "op": "eq", "value": 0}]}');`);
    this.addSql(
      `insert into programme_rule_version (code, version, params, enabled, updated_by, updated_at) select code, version, params, enabled, updated_by, updated_at from programme_rule;`,
    );
    // Rewritten often (every premium paid): room on each page lets an update that changes no indexed column (premium
    // paid, claims, loss ratio) stay on its page without touching the indexes (a HOT update). No foreign key to
    // party: its check takes a key-share lock on the party row, and ingest's survivorship (which locks the rows of the
    // golden records it recomputes FOR UPDATE) then queued behind the programme worker's transaction. Parties are
    // never deleted; rows of customers no longer active are removed by the derivation and by every recompute job.
    this.addSql(`create table customer_value (
      party_id uuid primary key,
      annualised_premium numeric not null, total_premium_paid numeric not null, first_policy_date date,
      policies_in_force int not null, policies_total int not null, claims_count int not null, claims_paid numeric not null,
      loss_ratio numeric, orphaned_policies int not null,
      lifecycle text not null check (lifecycle in ('PROSPECT','NEW','ACTIVE','LAPSING','LAPSED','CHURNED')),
      tier text not null, segments text[] not null,
      config_version int not null, computed_at timestamptz not null default now())
      with (fillfactor = 70);`);
    this.addSql(
      `create index customer_value_lifecycle on customer_value (lifecycle, annualised_premium desc, party_id);`,
    );
    this.addSql(`create index customer_value_tier on customer_value (tier, annualised_premium desc, party_id);`);
    this.addSql(`create index customer_value_segments on customer_value using gin (segments);`);
    this.addSql(`create index customer_value_order on customer_value (annualised_premium desc, party_id);`);
    this.addSql(`create table programme_work (
      id bigserial primary key, work jsonb not null, not_before timestamptz not null default now(),
      attempts int not null default 0, last_error text);`);
    this.addSql(`create table programme_job (
      id uuid primary key,
      kind text not null check (kind in ('RECOMPUTE','REFRESH')),
      status text not null default 'QUEUED' check (status in ('QUEUED','RUNNING','DONE','FAILED')),
      reason text not null, config_version int not null,
      total int, done int not null default 0, cursor uuid,
      requested_by text not null, created_at timestamptz not null default now(),
      started_at timestamptz, finished_at timestamptz, error text);`);
    this.addSql(
      `create index programme_job_pending on programme_job (created_at) where status in ('QUEUED','RUNNING');`,
    );
  }
}
