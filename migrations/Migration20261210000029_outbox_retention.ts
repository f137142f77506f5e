import { Migration } from '@mikro-orm/migrations';

/**
 * Published outbox rows are purged after HUB_OUTBOX_RETENTION_DAYS (src/risk/outbox.ts): the purge finds them by
 * when they were published. Only published rows are indexed — a row enters this index when its publishing update
 * writes it, which already adds an index entry (the pending index's predicate changes), so the publish is not HOT
 * either way.
 */
export class Migration20261210000029_outbox_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists outbox_published on outbox (published_at) where published_at is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists outbox_published;`);
  }
}
