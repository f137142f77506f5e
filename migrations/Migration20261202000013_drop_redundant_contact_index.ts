import { Migration } from '@mikro-orm/migrations';

/**
 * `contact_point_search (search_key)` duplicates `contact_point_search_kind (search_key, kind) where search_key is
 * not null` (migration 10): every lookup by search key (`search_key = ?`, `in (…)`, the join of the shared-contact
 * rule) implies `search_key is not null`, so the planner uses the composite index for all of them. The duplicate
 * was one more index entry for every contact point ingest writes (~28k per 100k events in bench:ingest).
 */
export class Migration20261202000013_drop_redundant_contact_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists contact_point_search;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index if not exists contact_point_search on contact_point (search_key);`);
  }
}
