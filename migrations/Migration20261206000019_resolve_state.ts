import { Migration } from '@mikro-orm/migrations';

/** Where the resolution pass (src/sync/resolve.ts) left off: golden records touched after this are its next seeds. */
export class Migration20261206000019_resolve_state extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table resolve_state (name text primary key, watermark timestamptz not null);`);
  }
}
