import { Migration } from '@mikro-orm/migrations';

/**
 * Storage settings for the tables ingest rewrites all the time. A golden record is updated whenever survivorship
 * moves (lineage carries the winning record's source time), and a customer's source record whenever it repeats
 * (the payer of every premium): with the default 20 % thresholds autovacuum comes late on such tables, and
 * lookups by key wade through dead row versions and plan on stale statistics (measured on bench:ingest: a batch's
 * candidate lookup took 140–340 ms before VACUUM ANALYZE and 33 ms after). Free space on each page (fillfactor)
 * lets updates that touch no indexed column stay on the page (HOT) instead of adding index entries.
 */
export class Migration20261122000011_write_heavy_tables extends Migration {
  override async up(): Promise<void> {
    for (const table of ['party', 'source_record']) {
      this.addSql(
        `alter table ${table} set (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05);`,
      );
    }
    for (const table of ['match_key', 'contact_point', 'party_identifier', 'activity', 'policy_role']) {
      this.addSql(
        `alter table ${table} set (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05);`,
      );
    }
  }
}
