import { Migration } from '@mikro-orm/migrations';

/**
 * Personal-information rights (issue 15 part 4; PIPL arts. 45 and 47):
 * - rights_request: the log of access exports and erasures — who asked, who approved (an erasure needs a second
 *   data steward), why, when, and what was done (counts per table). It holds no personal values: the erasure
 *   pseudonymises its own reason like every other text.
 * - party.status ERASED and the history cause ERASED: an erased golden record keeps its id (policies, claims and
 *   payments still point at it for the insurer's obligations) and nothing personal.
 */
export class Migration20261206000022_personal_information_rights extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table party drop constraint if exists party_status_check;`);
    this.addSql(
      `alter table party add constraint party_status_check check (status in ('ACTIVE','INACTIVE','MERGED','ERASED'));`,
    );
    this.addSql(`alter table party_history drop constraint if exists party_history_cause_check;`);
    this.addSql(`alter table party_history add constraint party_history_cause_check
      check (cause in ('CREATED','SOURCE_CHANGE','MATCH','MERGE','MERGED_INTO','UNMERGE','STEWARD_ACTION','DEACTIVATED','ERASED'));`);
    this.addSql(`create table rights_request (
      id uuid primary key default gen_random_uuid(),
      kind text not null check (kind in ('ACCESS','ERASURE')),
      party_id uuid not null references party(id),
      status text not null check (status in ('PROPOSED','DONE','CANCELLED')),
      reason text not null,
      requested_by text not null,
      requested_at timestamptz not null default now(),
      approved_by text,
      done_at timestamptz,
      summary jsonb not null default '{}');`);
    this.addSql(`create index rights_request_party on rights_request (party_id, requested_at);`);
    this.addSql(
      `create unique index rights_request_one_open_erasure on rights_request (party_id) where kind = 'ERASURE' and status = 'PROPOSED';`,
    );
  }
}
