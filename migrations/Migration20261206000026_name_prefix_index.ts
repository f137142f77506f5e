import { Migration } from '@mikro-orm/migrations';

/**
 * Name search (`searchCustomers(query: { name })`) matches a name key exactly, by prefix, or by trigram similarity.
 * The prefix arm (`name_key like 'k%'`) could use neither `party_name_key` (a plain btree under a non-C collation
 * does not serve LIKE) nor usefully `party_name_key_trgm` (a two- or three-character Chinese name has three or four
 * trigrams, so the trigram index returns every holder of the surname for recheck). A `text_pattern_ops` btree on the
 * active customers' keys serves both equality and the prefix as a range scan. Measured with EXPLAIN ANALYZE on a
 * bench:scale store of 11,072 customers (shared machine): exact + prefix for 王伟 0.06 ms with it, against 132 ms
 * for the prefix arm through the trigram index (996 active customers named 王 rechecked).
 */
export class Migration20261206000026_name_prefix_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index if not exists party_name_key_prefix on party (name_key text_pattern_ops) where status = 'ACTIVE';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists party_name_key_prefix;`);
  }
}
