import { Migration } from '@mikro-orm/migrations';

/**
 * No planner statistics for the JSON payload columns of the tables ingest writes: ANALYZE sorts a sample of up to
 * 30,000 values of each column to build its histogram, and jsonb values compare slowly. No statement filters on
 * these columns as a whole (a lookup by a field inside one uses an expression index, whose statistics ANALYZE
 * still gathers, or the default estimate, which column statistics do not change). Measured on bench:ingest:
 * an ANALYZE of source_record took up to 0.8–1.2 s and slowed the ingest transactions beside it
 * (docs/measurements.md). This holds for the hub's own refresh (src/ingest/table-statistics.ts) and autovacuum's.
 */
const payloadColumns: [table: string, column: string][] = [
  ['source_record', 'raw'],
  ['source_record', 'attributes'],
  ['source_record', 'attribute_versions'],
  ['source_record', 'match_profile'],
  ['source_record', 'match_explanation'],
  ['activity', 'data'],
  ['party', 'lineage'],
  ['party_history', 'snapshot'],
  ['party_history', 'detail'],
  ['outbox', 'payload'],
  ['contact_point', 'issues'],
  ['party_identifier', 'issues'],
  ['relationship', 'evidence'],
];

export class Migration20261211000030_payload_statistics extends Migration {
  override async up(): Promise<void> {
    for (const [table, column] of payloadColumns)
      this.addSql(`alter table ${table} alter column ${column} set statistics 0;`);
  }

  override async down(): Promise<void> {
    for (const [table, column] of payloadColumns)
      this.addSql(`alter table ${table} alter column ${column} set statistics -1;`);
  }
}
