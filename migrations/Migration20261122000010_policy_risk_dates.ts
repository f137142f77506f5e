import { Migration } from '@mikro-orm/migrations';

/**
 * When a policy was last reinstated and when its sum insured last went up. Both restart the "claim soon after"
 * clock of the early-claim rule (src/risk/alerts.ts); they are kept by the set-based upsert itself
 * (src/sync/apply-facts.ts) because the source only sends the policy's current state, not what changed.
 */
export class Migration20261122000010_policy_risk_dates extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table policy add column reinstated_at timestamptz, add column sum_insured_increased_at timestamptz;`);
    this.addSql(`create index activity_claim_policy on activity (policy_no) where kind = 'CLAIM' and not deleted;`);
  }
}
