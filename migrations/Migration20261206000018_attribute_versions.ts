import { Migration } from '@mikro-orm/migrations';

/**
 * source_record.attribute_versions: for sources whose messages carry only what changed (manifest
 * `messages: 'changes'`, the app's events), each attribute's value with the version and event id of the event
 * that gave it (src/domain/event-fold.ts). The record's `attributes` are the fold of these; a late event is
 * folded in its place. Null for sources that send whole records (and for app records stored before this
 * migration: their attributes count as one snapshot at their version the first time an event arrives).
 */
export class Migration20261206000018_attribute_versions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table source_record add column attribute_versions jsonb;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table source_record drop column if exists attribute_versions;`);
  }
}
