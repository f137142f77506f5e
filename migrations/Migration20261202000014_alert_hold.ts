import { Migration } from '@mikro-orm/migrations';

/**
 * A rule's finding must hold for `params.holdSeconds` before its alert opens (src/risk/alerts.ts): the
 * Prometheus "for" clause. Rules that compare two streams — claims paid against premiums paid (LOSS_RATIO), one
 * customer against the others who share a phone, address or bank account (SHARED_CONTACT: duplicates not yet
 * merged) — see half the evidence while the sources arrive: on bench:ingest, 232 loss-ratio alerts opened and
 * closed again within seconds against 24 that stayed, each published to the alert topic twice.
 *   - alert_pending: findings in their hold (shown to no one, published nowhere), and when their
 *     re-evaluation is due;
 *   - risk_work.not_before: the re-evaluation at the end of a hold is queued work the worker takes when due.
 * The seeded rules of those two kinds get a hold of 60 s as a new rule version, unless one is configured.
 */
export class Migration20261202000014_alert_hold extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table risk_work add column not_before timestamptz not null default now();`);
    this.addSql(`create index risk_work_due on risk_work (not_before);`);
    this.addSql(`create table alert_pending (
      party_id uuid not null references party(id), rule_code text not null references alert_rule(code),
      since timestamptz not null default now(), due_at timestamptz not null, primary key (party_id, rule_code));`);
    this.addSql(`update alert_rule set params = params || '{"holdSeconds": 60}'::jsonb, version = version + 1, updated_by = 'system', updated_at = now()
      where kind in ('LOSS_RATIO', 'SHARED_CONTACT') and not params ? 'holdSeconds';`);
    this.addSql(`insert into alert_rule_version (code, version, params, points, enabled, updated_by, updated_at)
      select code, version, params, points, enabled, updated_by, updated_at from alert_rule r
       where kind in ('LOSS_RATIO', 'SHARED_CONTACT') and not exists (select 1 from alert_rule_version v where v.code = r.code and v.version = r.version);`);
  }
}
