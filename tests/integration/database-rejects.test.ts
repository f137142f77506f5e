import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { textMessage } from '../../src/connectors/framework/connector.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { executeBound } from '../../src/db/bound-sql.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { applyBatches, type BatchPart } from '../../src/ingest/apply-batch.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * A message that maps but that the database rejects (here a sum insured that rounds past numeric(18,2)) is
 * quarantined with the database's reason, and the rest of its transaction — other partitions' customers, the same
 * partition's other policies — is applied, with every position stored past it.
 */
describe('a message the database rejects', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_db_rejects');
    orm = await openOrm(db.url, { poolMax: 2 });
    await migrate(orm);
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('is quarantined alone, with its SQLSTATE; the rest of the group is applied and every position stored', async () => {
    const router = new TopicRouter(connectors);
    const at = dteupd('2026-11-01T00:00:00Z');
    const clients = [1, 2, 3].map((i) =>
      coreEvent('client', 'c', {
        CLNTNUM: `DR00000${i}`,
        CLTTYPE: 'P',
        SURNAME: '孙',
        GIVNAME: `拒${i}`,
        CLTDOB: 19800101 + i,
        CLTSEX: 'M',
        IDTYPE: 'ID',
        IDNO: residentId('110101', String(19800101 + i), `12${i}`),
        MOBILE: `1391234000${i}`,
        DTEUPD: at + i,
      }),
    );
    const policies = ['1000.00', '9999999999999999.999', '2000.00'].map((sum, i) =>
      coreEvent('policy', 'c', {
        CHDRNUM: `DRP0000${i}`,
        CNTTYPE: 'TL1',
        STATCODE: 'IF',
        SINSTAMT: sum,
        DTEUPD: at + i,
      }),
    );
    const part = (events: typeof clients): BatchPart => {
      const route = router.route(events[0]?.topic as string);
      if (!route) throw new Error(`no route for ${events[0]?.topic}`);
      return { route, partition: 0, messages: events.map((e, i) => textMessage(e.topic, i, e.key, e.value)) };
    };
    const [forClients, forPolicies] = await applyBatches(
      orm,
      'hub',
      [part(clients), part(policies)],
      ingestDepsFor('', 'settle'),
    );
    expect(forClients?.quarantined).toBe(0);
    expect(forClients?.nextOffset).toBe('3');
    expect(forPolicies?.quarantined).toBe(1);
    expect(forPolicies?.nextOffset).toBe('3');
    expect(forPolicies?.rejected.map((r) => [r.offset, r.code])).toEqual([['1', 'REJECTED_BY_DATABASE']]);

    const em = orm.em.fork();
    const stored = await executeBound<{ policy_no: string }[]>(em, `select policy_no from policy order by policy_no`);
    expect(stored.map((p) => p.policy_no.trim())).toEqual(['DRP00000', 'DRP00002']);
    const records = await executeBound<{ n: number }[]>(
      em,
      `select count(*)::int as n from source_record where source_id like 'DR%'`,
    );
    expect(records[0]?.n).toBe(3);
    const quarantined = await executeBound<{ offset: string; error_code: string; reason: string }[]>(
      em,
      `select "offset"::text as "offset", error_code, reason from quarantined_event`,
    );
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]?.offset).toBe('1');
    expect(quarantined[0]?.error_code).toBe('REJECTED_BY_DATABASE');
    expect(quarantined[0]?.reason).toContain('22003');
    const positions = await executeBound<{ next_offset: string }[]>(
      em,
      `select next_offset::text as next_offset from consumer_offset where consumer_group = 'hub' order by topic`,
    );
    expect(positions.map((p) => p.next_offset)).toEqual(['3', '3']);
  });
});
