import { Migration } from '@mikro-orm/migrations';

/**
 * Blocking keys are stored as 64-bit hashes (hashtextextended) instead of text: the index is several times
 * smaller, which keeps candidate search and key maintenance in memory as the golden store grows towards
 * millions of records. A hash collision only adds a candidate, which scoring then rejects.
 */
export class Migration20261122000005_match_key_hash extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table match_key_hashed (
      key_hash bigint not null,
      source_record_id uuid not null references source_record(id) on delete cascade,
      primary key (key_hash, source_record_id));`);
    this.addSql(
      `insert into match_key_hashed (key_hash, source_record_id) select distinct hashtextextended(key, 0), source_record_id from match_key;`,
    );
    this.addSql(`drop table match_key;`);
    this.addSql(`alter table match_key_hashed rename to match_key;`);
    this.addSql(`alter table match_key rename constraint match_key_hashed_pkey to match_key_pkey;`);
    this.addSql(`create index match_key_record on match_key (source_record_id);`);
  }
}
