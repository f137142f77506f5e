import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../../src/db/bound-sql.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createKafka } from '../../src/messaging/kafka.ts';
import { purgePublishedOutbox, startOutboxPublisher } from '../../src/risk/outbox.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * Published outbox rows are deleted once they are older than the retention (HUB_OUTBOX_RETENTION_DAYS); rows not
 * yet published stay whatever their age — they are still owed to the broker.
 */
describe('purging published outbox rows', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_outbox_retention');
    orm = await openOrm(db.url, { poolMax: 2 });
    await migrate(orm);
  }, 300_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  /** `n` rows of `topic` created and published 20 days ago. */
  const publishedLongAgo = (topic: string, n: number) =>
    executeBound(
      orm.em.fork(),
      `insert into outbox (id, topic, message_key, payload, created_at, published_at)
       select gen_random_uuid(), ?, 'k', '{}'::jsonb, now() - interval '20 days', now() - interval '20 days' from generate_series(1, ?::int)`,
      [topic, n],
    );
  const rowsOf = async (topic: string) =>
    (
      await executeBound<{ n: number }[]>(orm.em.fork(), `select count(*)::int as n from outbox where topic = ?`, [
        topic,
      ])
    )[0]?.n;

  it('deletes only rows published before the retention, in batches, and leaves unpublished rows', async () => {
    const em = orm.em.fork();
    const row = (topic: string, createdDaysAgo: number, publishedDaysAgo: number | null) =>
      executeBound(
        em,
        `insert into outbox (id, topic, message_key, payload, created_at, published_at)
         values (gen_random_uuid(), ?, 'k', '{}'::jsonb, now() - make_interval(days => ?::int),
                 case when ?::int is null then null else now() - make_interval(days => ?::int) end)`,
        [topic, createdDaysAgo, publishedDaysAgo, publishedDaysAgo],
      );
    for (let i = 0; i < 5; i += 1) await row('old-published', 10, 9);
    for (let i = 0; i < 2; i += 1) await row('recent-published', 3, 2);
    await row('old-unpublished', 30, null);

    // Batches of 2: five old rows take three deletes, the last one short.
    expect(await purgePublishedOutbox(orm, 7, 2)).toBe(5);
    const left = await executeBound<{ topic: string; n: number }[]>(
      em,
      `select topic, count(*)::int as n from outbox group by topic order by topic`,
    );
    expect(left).toEqual([
      { topic: 'old-unpublished', n: 1 },
      { topic: 'recent-published', n: 2 },
    ]);
    // Nothing more to purge: a second run deletes nothing.
    expect(await purgePublishedOutbox(orm, 7, 2)).toBe(0);
    // A shorter retention reaches the recent rows too, never the unpublished one.
    expect(await purgePublishedOutbox(orm, 1, 2)).toBe(2);
    expect(await executeBound<{ topic: string }[]>(em, `select topic from outbox`)).toEqual([
      { topic: 'old-unpublished' },
    ]);
  });

  it('stops between batches when the hub is stopping', async () => {
    await publishedLongAgo('stopping', 5);
    let batches = 0;
    // Asked before each batch: the first goes ahead, then the hub is stopping.
    expect(await purgePublishedOutbox(orm, 7, 2, () => batches++ >= 1)).toBe(2);
    expect(await rowsOf('stopping')).toBe(3);
  });

  it("is run by the hub's outbox publisher a set time after start", async () => {
    await publishedLongAgo('timer', 3);
    const left = () => rowsOf('timer');
    const publisher = await startOutboxPublisher({
      kafka: createKafka(await kafkaBrokers(), 'test-outbox-purge'),
      orm,
      logger: createLogger('error'),
      topics: [],
      firstPurgeAfterMs: 200,
    });
    try {
      expect(await left()).toBe(3);
      const until = Date.now() + 30_000;
      while ((await left()) !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await left()).toBe(0);
    } finally {
      await publisher.stop();
    }
  });
});
