import { Migration } from '@mikro-orm/migrations';

/**
 * Risk follow-up queued by streaming ingest (src/risk/risk-work.ts): each ingest transaction that changed
 * customers, claims, payments or policies adds one row naming them, in the same transaction as the changes; the
 * risk worker (src/risk/risk-worker.ts) claims rows, screens and evaluates everyone they name, and deletes the
 * rows in the transaction that writes the screening hits and alerts. A row is never lost (it commits with the
 * changes) and never applied twice (it is deleted with the effects).
 */
export class Migration20261122000012_risk_work_queue extends Migration {
  override async up(): Promise<void> {
    // attempts / last_error: a row that keeps failing on its own is parked (see risk-worker.ts) and kept for a look.
    this.addSql(`create table risk_work (id bigint generated always as identity primary key, work jsonb not null, queued_at timestamptz not null default now(),
      attempts int not null default 0, last_error text);`);
  }
}
