import { Migration } from '@mikro-orm/migrations';

/** Blacklist entries proposed together from a list file share a batch id, so they can be approved together. */
export class Migration20261122000009_blacklist_batches extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table blacklist_entry add column import_batch uuid;`);
    this.addSql(`create index blacklist_entry_batch on blacklist_entry (import_batch) where import_batch is not null;`);
  }
}
