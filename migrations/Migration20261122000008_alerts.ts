import { Migration } from '@mikro-orm/migrations';

/**
 * High-claim alerting: rules are stored configuration (versioned, changeable at run time), one open alert per
 * customer and rule (updated as evidence grows), a lifecycle with suppression, and a transactional outbox that
 * publishes alert changes to Kafka.
 */
export class Migration20261122000008_alerts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table alert_rule (
      code text primary key,
      kind text not null check (kind in ('CLAIMS_IN_WINDOW','CUMULATIVE_PAID','LOSS_RATIO','EARLY_CLAIM','MULTI_POLICY_INCIDENT','SHARED_CONTACT')),
      params jsonb not null, points int not null, enabled boolean not null default true,
      version int not null default 1, updated_by text not null default 'system', updated_at timestamptz not null default now());`);
    this.addSql(`create table alert_rule_version (
      code text not null references alert_rule(code), version int not null, params jsonb not null, points int not null, enabled boolean not null,
      updated_by text not null, updated_at timestamptz not null, primary key (code, version));`);
    this.addSql(`insert into alert_rule (code, kind, params, points) values
      ('CLAIMS_IN_WINDOW', 'CLAIMS_IN_WINDOW', '{"windowDays": 365, "minClaims": 3}', 40),
      ('CUMULATIVE_PAID', 'CUMULATIVE_PAID', '{"windowDays": 730, "minPaid": 100000}', 40),
      ('LOSS_RATIO', 'LOSS_RATIO', '{"windowDays": 730, "minRatio": 3, "minPremium": 1000}', 30),
      ('EARLY_CLAIM', 'EARLY_CLAIM', '{"withinDays": 90}', 30),
      ('MULTI_POLICY_INCIDENT', 'MULTI_POLICY_INCIDENT', '{"minPolicies": 2}', 40),
      ('SHARED_CONTACT', 'SHARED_CONTACT', '{"minCustomers": 3, "excludedPhones": []}', 20);`);
    this.addSql(
      `insert into alert_rule_version (code, version, params, points, enabled, updated_by, updated_at) select code, version, params, points, enabled, updated_by, updated_at from alert_rule;`,
    );
    this.addSql(`create table alert (
      id uuid primary key,
      party_id uuid not null references party(id), rule_code text not null references alert_rule(code), rule_version int not null,
      status text not null check (status in ('OPEN','ACKNOWLEDGED','CLOSED')),
      points int not null, evidence jsonb not null, explanation text not null,
      acknowledged_by text, closed_by text, closed_reason text, suppressed_until timestamptz,
      created_at timestamptz not null default now(), updated_at timestamptz not null default now());`);
    this.addSql(`create unique index alert_one_open on alert (party_id, rule_code) where status <> 'CLOSED';`);
    this.addSql(`create index alert_status on alert (status, updated_at);`);
    this.addSql(`create table outbox (
      id uuid primary key, topic text not null, message_key text, payload jsonb not null,
      created_at timestamptz not null default now(), published_at timestamptz);`);
    this.addSql(`create index outbox_unpublished on outbox (created_at) where published_at is null;`);
  }
}
