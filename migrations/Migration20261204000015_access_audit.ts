import { Migration } from '@mikro-orm/migrations';

/**
 * Unmasked reads of graded personal data as rows (PIPL art. 51, JR/T 0171-2020 access records): who (subject
 * and roles), why (the purpose the caller declared), whose data (the golden customer), which field, in which
 * operation, when. Written in batches off the request path (src/services/access-audit.service.ts), read by the
 * compliance role, purged after HUB_AUDIT_RETENTION_DAYS.
 */
export class Migration20261204000015_access_audit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table access_audit (
      id bigserial primary key,
      at timestamptz not null,
      subject text not null,
      roles text[] not null,
      purpose text,
      customer_id uuid,
      field text not null,
      operation text
    );`);
    this.addSql(`create index access_audit_customer on access_audit (customer_id, at desc);`);
    this.addSql(`create index access_audit_subject on access_audit (subject, at desc);`);
    this.addSql(`create index access_audit_at on access_audit (at);`);
  }
}
