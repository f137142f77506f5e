import { Migration } from '@mikro-orm/migrations';

/**
 * The matcher's normalised view of each source record (names, pinyin, keys) is stored once when the record is
 * written, so candidates are scored without normalising them again on every incoming event.
 */
export class Migration20261122000006_match_profile extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table source_record add column match_profile jsonb;`);
  }
}
