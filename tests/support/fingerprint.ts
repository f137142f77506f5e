import pg from 'pg';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolvePass } from '../../src/sync/resolve.ts';

/**
 * Everything ingest produced, without generated ids, wall-clock times and the accidents of arrival order, so
 * that two runs over the same events can be compared: golden records are named by their smallest member
 * record (which of two records of one person arrives first, and so creates the golden record, depends on how
 * partitions interleave and differs between any two runs).
 */
export async function storeFingerprint(url: string): Promise<Record<string, unknown[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const anchor = `(select min(s2.system || '/' || s2.source_id) from source_record s2 where s2.party_id = sr.party_id and not s2.deleted)`;
    const queries = {
      // A deleted record's link is history (which golden record it left depends on what else had arrived), so
      // only live records are compared by golden record.
      records: `select sr.system, sr.source_id, sr.source_version::text, sr.deleted, case when sr.deleted then null else ${anchor} end as golden,
                       case when sr.deleted then null else p.display_name end as display_name, case when sr.deleted then null else p.birth_date::text end as birth_date
                  from source_record sr left join party p on p.id = sr.party_id order by sr.system, sr.source_id`,
      goldenRecords: `select count(*)::int as n from party where status = 'ACTIVE'`,
      identifiers: `select sr.system, sr.source_id, pi.type, pi.value, pi.valid from party_identifier pi join source_record sr on sr.id = pi.source_record_id order by 1, 2, 3, 4`,
      contactPoints: `select sr.system, sr.source_id, cp.kind, cp.value, cp.search_key from contact_point cp join source_record sr on sr.id = cp.source_record_id order by 1, 2, 3, 4`,
      policies: `select system, policy_no, product_code, status, sum_insured::text, source_version::text, deleted from policy order by system, policy_no`,
      covers: `select system, policy_no, coverage, rider, sum_insured::text, source_version::text, deleted from policy_cover order by 1, 2, 3, 4`,
      roles: `select system, policy_no, client_source_id, role, current, source_version::text, deleted from policy_role order by 1, 2, 3, 4`,
      activities: `select kind, system, source_key, party_system, party_source_id, policy_no, type, status, amount::text, source_version::text, deleted from activity order by 1, 2, 3`,
      quarantined: `select topic, "offset"::text, error_code from quarantined_event order by 1, 2`,
    };
    const out: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(queries)) out[name] = (await c.query(sql)).rows;
    return out;
  } finally {
    await c.end();
  }
}

/**
 * Runs the resolution pass over everything in a store (src/sync/resolve.ts), as the hub does on its schedule:
 * streaming decides records in arrival order, and two runs whose batches split differently (a crash, a restart)
 * converge to one partition only after the pass. Stores are compared after it.
 */
export async function converge(url: string): Promise<void> {
  const orm = await openOrm(url, { poolMax: 2 });
  try {
    await migrate(orm);
    const deps = ingestDepsFor('', 'settle');
    await resolvePass(orm, deps.matcher, (em, changed) => deps.followUp.run(em, changed), { full: true });
  } finally {
    await orm.close(true);
  }
}
