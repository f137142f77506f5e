import { Migration } from '@mikro-orm/migrations';

/**
 * Four eyes on the risk decisions that remove a flag for long: dismissing a hit on a fraud or sanctions list,
 * and suppressing an alert beyond the limit one person may set, are proposed by one person and take effect
 * when a second risk admin confirms (src/services/risk-review.service.ts).
 */
export class Migration20261204000016_four_eyes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table screening_hit add column dismissal_proposed_by text, add column dismissal_proposed_reason text,
      add column dismissal_proposed_at timestamptz;`);
    this.addSql(`alter table alert add column suppression_proposed_by text, add column suppression_proposed_days int;`);
  }
}
