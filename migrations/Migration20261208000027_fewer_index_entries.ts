import { Migration } from '@mikro-orm/migrations';

/**
 * Fewer index entries per ingested event (issue 16 part 4). Five tables written on every ingest had a primary key on
 * a random `id` that nothing looks a row up by (no foreign key, no query by id, no API id; the column is kept, as
 * rows and reads carry it) beside an index that every query does use:
 *   - covers and roles are keyed by the source's natural keys (every write is `insert … on conflict (natural key)`,
 *     reads go by policy or client): the natural key becomes the primary key, the `id` key goes;
 *   - identifiers and contact points are found by golden record (`party_id`) and by source record (deletes and
 *     moves of a record's rows): `(source_record_id, id)` becomes the primary key and replaces both the `id` key and
 *     the `(source_record_id)` index;
 *   - history rows are read by golden record in version order: `(party_id, version, id)` replaces both the `id`
 *     key and `(party_id, version)`.
 * One index entry less for each of these rows: ~1.1 per event of the ~12 a bench:ingest run wrote (per 100k
 * events: 29k roles, 20k covers, 28k contact points, 16k identifiers, 15k history rows).
 */
export class Migration20261208000027_fewer_index_entries extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table policy_cover drop constraint policy_cover_pkey;`);
    this.addSql(`alter table policy_cover drop constraint policy_cover_system_policy_no_coverage_rider_key;`);
    this.addSql(`alter table policy_cover add primary key (system, policy_no, coverage, rider);`);
    this.addSql(`alter table policy_role drop constraint policy_role_pkey;`);
    this.addSql(`alter table policy_role drop constraint policy_role_system_policy_no_client_source_id_role_key;`);
    this.addSql(`alter table policy_role add primary key (system, policy_no, client_source_id, role);`);
    this.addSql(`alter table party_identifier drop constraint party_identifier_pkey;`);
    this.addSql(`drop index party_identifier_record;`);
    this.addSql(`alter table party_identifier add primary key (source_record_id, id);`);
    this.addSql(`alter table contact_point drop constraint contact_point_pkey;`);
    this.addSql(`drop index contact_point_record;`);
    this.addSql(`alter table contact_point add primary key (source_record_id, id);`);
    this.addSql(`alter table party_history drop constraint party_history_pkey;`);
    this.addSql(`drop index party_history_party;`);
    this.addSql(`alter table party_history add primary key (party_id, version, id);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table party_history drop constraint party_history_pkey;`);
    this.addSql(`alter table party_history add primary key (id);`);
    this.addSql(`create index party_history_party on party_history (party_id, version);`);
    this.addSql(`alter table contact_point drop constraint contact_point_pkey;`);
    this.addSql(`alter table contact_point add primary key (id);`);
    this.addSql(`create index contact_point_record on contact_point (source_record_id);`);
    this.addSql(`alter table party_identifier drop constraint party_identifier_pkey;`);
    this.addSql(`alter table party_identifier add primary key (id);`);
    this.addSql(`create index party_identifier_record on party_identifier (source_record_id);`);
    this.addSql(`alter table policy_role drop constraint policy_role_pkey;`);
    this.addSql(`alter table policy_role add primary key (id);`);
    this.addSql(`alter table policy_role add unique (system, policy_no, client_source_id, role);`);
    this.addSql(`alter table policy_cover drop constraint policy_cover_pkey;`);
    this.addSql(`alter table policy_cover add primary key (id);`);
    this.addSql(`alter table policy_cover add unique (system, policy_no, coverage, rider);`);
  }
}
