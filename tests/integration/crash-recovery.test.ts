import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { coreEvent, dteupd, residentId, type CoreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startHubProcess } from '../support/hub-process.ts';
import { eventually } from '../support/graphql.ts';

/**
 * Kills the hub (SIGKILL) after a batch's database transaction committed and before its Kafka offsets were
 * committed, restarts it, and compares the final database state with an uninterrupted run over the same
 * events: no lost and no duplicated effect.
 */

function events(): CoreEvent[] {
  const out: CoreEvent[] = [];
  const at = (i: number) => dteupd('2026-11-01T00:00:00Z') + i * 1_000_000;
  for (let i = 0; i < 60; i += 1) {
    const no = `K${String(i).padStart(7, '0')}`;
    // every third client is a second client number of the previous person (same resident id)
    const person = i % 3 === 2 ? i - 1 : i;
    out.push(
      coreEvent('client', 'r', {
        CLNTNUM: no,
        CLTTYPE: 'P',
        SURNAME: '张',
        GIVNAME: `三${person}`,
        CLTSEX: 'M',
        CLTDOB: 19800101,
        IDTYPE: '01',
        IDNO: residentId('110101', '19800101', String(100 + person).padStart(3, '0')),
        MOBILE: `139${String(person).padStart(8, '0')}`,
        DTEUPD: at(i),
      }),
    );
    out.push(
      coreEvent('policy', 'r', {
        CHDRNUM: `Q${String(i).padStart(7, '0')}`,
        CNTTYPE: 'TL1',
        STATCODE: 'IF',
        OCCDATE: 20250101,
        PTDATE: 20260101,
        SINSTAMT: '100000.00',
        INSTPREM: '500.00',
        BILLFREQ: '01',
        SRCEBUS: 'WB',
        AGNTNUM: null,
        DTEUPD: at(i),
      }),
    );
    out.push(
      coreEvent('role', 'r', {
        CHDRNUM: `Q${String(i).padStart(7, '0')}`,
        CLNTNUM: no,
        CLRRROLE: 'OW',
        BNYSEQ: null,
        BNYPC: null,
        VALIDFLAG: '1',
        DTEUPD: at(i),
      }),
    );
  }
  // updates on top of the snapshot
  for (let i = 0; i < 60; i += 5) {
    out.push(
      coreEvent('client', 'u', {
        CLNTNUM: `K${String(i).padStart(7, '0')}`,
        CLTTYPE: 'P',
        SURNAME: '张',
        GIVNAME: `三${i % 3 === 2 ? i - 1 : i}`,
        CLTSEX: 'M',
        CLTDOB: 19800101,
        IDTYPE: '01',
        IDNO: residentId('110101', '19800101', String(100 + (i % 3 === 2 ? i - 1 : i)).padStart(3, '0')),
        MOBILE: `188${String(i).padStart(8, '0')}`,
        DTEUPD: at(1000 + i),
      }),
    );
  }
  return out;
}

/** Everything the events should have produced, without generated ids and wall-clock times. */
async function fingerprint(url: string): Promise<Record<string, unknown[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const queries = {
      records:
        // link_type and party version are left out: which of two records of one person arrives first (and so
        // starts the golden record) depends on partition interleaving, which differs between any two runs.
        `select sr.system, sr.source_id, sr.source_version::text, sr.deleted,
                      (select min(s2.source_id) from source_record s2 where s2.party_id = sr.party_id) as party_anchor,
                      p.display_name, p.status, p.birth_date::text, p.lineage->'displayName'->>'sourceId' as name_from
                 from source_record sr join party p on p.id = sr.party_id order by sr.system, sr.source_id`,
      parties: `select count(*)::int as parties from party`,
      contactPoints: `select p.id is not null as linked, cp.kind, cp.value, sr.source_id from contact_point cp join source_record sr on sr.id = cp.source_record_id left join party p on p.id = cp.party_id order by sr.source_id, cp.kind, cp.value`,
      identifiers: `select type, value, sr.source_id from party_identifier pi join source_record sr on sr.id = pi.source_record_id order by sr.source_id`,
      policies: `select system, policy_no, status, source_version::text, deleted from policy order by policy_no`,
      roles: `select system, policy_no, client_source_id, role, source_version::text from policy_role order by policy_no, client_source_id, role`,
      quarantined: `select count(*)::int as quarantined from quarantined_event`,
    };
    const out: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(queries)) out[name] = (await c.query(sql)).rows;
    return out;
  } finally {
    await c.end();
  }
}

const updatedAfter = dteupd('2026-11-01T00:00:00Z') + 999_000_000;

/** Rows the events create plus clients carrying their update: reaches `expected` when everything is applied. */
async function countApplied(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `select (select count(*) from policy_role)::int + (select count(*) from source_record)::int + (select count(*) from policy)::int as n, (select count(*) from source_record where source_version > $1)::int as updated`,
      [updatedAfter],
    );
    return r.rows[0].n + r.rows[0].updated;
  } catch {
    return -1;
  } finally {
    await c.end();
  }
}

describe('crash between applying a batch and committing its offsets', () => {
  let crashed: TestDatabase;
  let reference: TestDatabase;
  let brokers: string[];
  const prefix = `c${randomBytes(3).toString('hex')}.`;
  const all = events();
  const expected = 60 + 60 + 60 + 12; // source records + policies + roles + updated clients

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    [crashed, reference] = await Promise.all([createTestDatabase('hub_crash'), createTestDatabase('hub_ref')]);
    const kafka = createKafka(brokers, 'test-producer');
    await ensureTopics(
      kafka,
      Object.values(corePolicyTopics).map((t) => prefix + t),
    );
    await publish(
      kafka,
      all.map((e) => ({ ...e, topic: prefix + e.topic })),
    );
  });
  afterAll(async () => {
    await crashed?.drop();
    await reference?.drop();
  });

  it('ends in the same state as an uninterrupted run', async () => {
    const common = { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix };
    // Uninterrupted reference run.
    const ref = startHubProcess({ ...common, DATABASE_URL: reference.url, KAFKA_GROUP_ID: `ref-${prefix}` });
    await eventually(
      async () => ((await countApplied(reference.url)) === expected ? true : undefined),
      90_000,
      'reference run to apply everything',
    );
    ref.child.kill('SIGTERM');
    await ref.exited;

    // Crashing run: dies right after its first committed batch, before committing Kafka offsets.
    const group = `crash-${prefix}`;
    const first = startHubProcess({
      ...common,
      DATABASE_URL: crashed.url,
      KAFKA_GROUP_ID: group,
      HUB_FAULT_INJECTION: 'crash-after-apply',
    });
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    const admin = createKafka(brokers, 'test-admin').admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({
      groupId: group,
      topics: Object.values(corePolicyTopics).map((t) => prefix + t),
    });
    await admin.disconnect();
    // Kafka saw no commit, yet the database holds the effects of the first batch and its position.
    expect(committed.flatMap((t) => t.partitions).every((p) => p.offset === '-1')).toBe(true);
    const partial = await countApplied(crashed.url);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(expected);

    // Restart without the fault: the redelivered batch is skipped, the rest is applied.
    const second = startHubProcess({ ...common, DATABASE_URL: crashed.url, KAFKA_GROUP_ID: group });
    await eventually(
      async () => ((await countApplied(crashed.url)) === expected ? true : undefined),
      90_000,
      'restarted run to apply everything',
    );
    second.child.kill('SIGTERM');
    await second.exited;

    const [after, uninterrupted] = [await fingerprint(crashed.url), await fingerprint(reference.url)];
    expect(after.records).toHaveLength(60);
    for (const part of Object.keys(uninterrupted)) expect(after[part], part).toEqual(uninterrupted[part]);
  });
});
