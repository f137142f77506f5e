import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the sync step's per-record lookups: contributions are replaced and re-pointed by source record,
 * review tasks are retired by record and by candidate, aliases are flattened by merged_into_id. Without them
 * every event scans these tables and the per-event cost grows with the golden store (bench:stream).
 */
export class Migration20261122000003_lookup_indexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index party_identifier_record on party_identifier (source_record_id);`);
    this.addSql(`create index contact_point_record on contact_point (source_record_id);`);
    this.addSql(`create index review_task_record on review_task (source_record_id) where status = 'OPEN';`);
    this.addSql(`create index review_task_candidate on review_task (candidate_party_id) where status = 'OPEN';`);
    this.addSql(`create index party_merged_into on party (merged_into_id) where merged_into_id is not null;`);
    this.addSql(`create index match_rejection_party on match_rejection (party_id);`);
  }
}
