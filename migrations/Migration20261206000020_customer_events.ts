import { Migration } from '@mikro-orm/migrations';

/**
 * Golden-record change events (topic hub.customers.v1, docs/events.md) go through the existing outbox, written in
 * the transaction that writes the golden record's history (src/sync/customer-events.ts). Events of one customer
 * must leave in the order they were written: `created_at` is the writing transaction's start, so two
 * transactions that changed one customer one after the other can carry it in the wrong order. `seq` is taken
 * when the row is inserted — after the customer's row lock — so it orders one customer's events as committed.
 */
export class Migration20261206000020_customer_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table outbox add column seq bigint generated always as identity;`);
    this.addSql(`create index outbox_unpublished_seq on outbox (seq) where published_at is null;`);
    this.addSql(`drop index if exists outbox_unpublished;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index if not exists outbox_unpublished on outbox (created_at) where published_at is null;`);
    this.addSql(`drop index if exists outbox_unpublished_seq;`);
    this.addSql(`alter table outbox drop column if exists seq;`);
  }
}
