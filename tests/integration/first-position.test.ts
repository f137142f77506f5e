import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { coreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { type SourceMessage, textMessage } from '../../src/connectors/framework/connector.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { applyBatch } from '../../src/ingest/apply-batch.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { client } from '../support/programme-events.ts';

/**
 * Two transactions applying the same messages of one partition at once — after a rebalance, the new owner and the
 * old one finishing what it had already fetched (src/ingest/partition-lanes.ts) — take turns on the partition's
 * stored position, and the second skips what the first applied. This holds for a partition's very first messages
 * too, before any position is stored: both transactions would otherwise find no position to lock.
 */
describe('the stored position of a partition nobody has applied yet', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_first_position');
    orm = await openOrm(db.url, { poolMax: 4 });
    await migrate(orm);
  }, 300_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('lets one of two concurrent transactions apply the first messages and the other skip them', async () => {
    const messages: SourceMessage[] = Array.from({ length: 40 }, (_, i) => {
      const m = coreEvent(
        'client',
        'c',
        client(`F${String(i).padStart(7, '0')}`, { SURNAME: '先', GIVNAME: `位${i}`, CLTDOB: 19700101 + i }),
      );
      return textMessage(m.topic, i, m.key, m.value);
    });
    const route = new TopicRouter(connectors).route(messages[0]?.topic as string);
    if (!route) throw new Error('no route for the core-policy client topic');
    const deps = ingestDepsFor('', 'settle');
    const [a, b] = await Promise.all([
      applyBatch(orm, 'hub', route, 0, messages, deps),
      applyBatch(orm, 'hub', route, 0, messages, deps),
    ]);
    expect([a.skipped, b.skipped].sort((x, y) => x - y)).toEqual([0, 40]);
    expect(a.nextOffset ?? b.nextOffset).toBe('40');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const records = await c.query<{ n: number; golden: number }>(
        `select count(*)::int as n, count(distinct party_id)::int as golden from source_record`,
      );
      expect(records.rows[0]).toEqual({ n: 40, golden: 40 });
      const history = await c.query<{ n: number }>(`select count(*)::int as n from party_history`);
      expect(history.rows[0]?.n).toBe(40);
      const position = await c.query<{ next_offset: string }>(
        `select next_offset::text from consumer_offset where consumer_group = 'hub'`,
      );
      expect(position.rows).toEqual([{ next_offset: '40' }]);
    } finally {
      await c.end();
    }
  });
});
