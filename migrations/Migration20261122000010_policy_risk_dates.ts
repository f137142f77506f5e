import { Migration } from '@mikro-orm/migrations';

/**
 * Risk additions. When a policy was last reinstated and when its sum insured last went up. Both restart the "claim soon after"
 * clock of the early-claim rule (src/risk/alerts.ts); they are kept by the set-based upsert itself
 * (src/sync/apply-facts.ts) because the source only sends the policy's current state, not what changed.
 */
export class Migration20261122000010_policy_risk_dates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table policy add column reinstated_at timestamptz, add column sum_insured_increased_at timestamptz;`,
    );
    this.addSql(`create index activity_claim_policy on activity (policy_no) where kind = 'CLAIM' and not deleted;`);
    // Network flags on addresses and bank accounts (src/risk/alerts.ts, SHARED_CONTACT with params.contact).
    this.addSql(`create index activity_bank_account on activity ((regexp_replace(coalesce(data->>'bankAccount', data->>'payeeBankAccount'), '[^0-9A-Za-z]', '', 'g')))
      where kind in ('PAYMENT', 'CLAIM') and not deleted;`);
    this.addSql(
      `create index contact_point_search_kind on contact_point (search_key, kind) where search_key is not null;`,
    );
    this.addSql(`insert into alert_rule (code, kind, params, points) values
      ('SHARED_ADDRESS', 'SHARED_CONTACT', '{"contact": "ADDRESS", "minCustomers": 4, "excluded": []}', 15),
      ('SHARED_BANK_ACCOUNT', 'SHARED_CONTACT', '{"contact": "BANK_ACCOUNT", "minCustomers": 3, "excluded": []}', 25);`);
    this.addSql(`insert into alert_rule_version (code, version, params, points, enabled, updated_by, updated_at)
      select code, version, params, points, enabled, updated_by, updated_at from alert_rule where code in ('SHARED_ADDRESS', 'SHARED_BANK_ACCOUNT');`);
  }
}
