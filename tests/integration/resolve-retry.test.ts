import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { generateErPopulation } from '../../bench/er-population.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { seeded } from '../../src/demo/random.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolvePass } from '../../src/sync/resolve.ts';
import { erClientEvents } from '../support/er-client-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The resolution pass against a deadlock (found by the soak, soak/soak.ts: a round waited for golden records an
 * ingest merge held while the merge waited for source records the round had locked; PostgreSQL aborted the round
 * and the whole pass waited for its next run). A round that PostgreSQL aborts as a deadlock — here after it did
 * all its work, so everything it did is rolled back — is tried again and ends exactly as a pass without one.
 */
const rows = generateErPopulation({ households: 60, seed: 7, extras: 0.2 });
const events: BatchInputMessage[] = seeded(3).shuffle(erClientEvents(rows, 'R', { phones: 'mobile' }));

async function partition(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: groups } = await c.query<{ ids: string[] }>(
      `select array_agg(source_id order by source_id) as ids from source_record where not deleted group by party_id`,
    );
    return groups.map((g) => g.ids.join(',')).sort();
  } finally {
    await c.end();
  }
}

/** The ORM with every round's first try aborted as a deadlock once its work is done (and so rolled back). */
function deadlockingOnce(orm: MikroORM) {
  let aborted = 0;
  let failNext = true;
  return {
    aborted: () => aborted,
    em: {
      fork() {
        const em = orm.em.fork();
        const transactional = em.transactional.bind(em);
        return Object.assign(em, {
          transactional: <T>(cb: (tx: typeof em) => Promise<T>) =>
            transactional(async (tx) => {
              const out = await cb(tx as typeof em);
              failNext = !failNext;
              if (!failNext) {
                aborted += 1;
                throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
              }
              return out;
            }),
        });
      },
    },
  };
}

describe('resolution pass retried after a deadlock', () => {
  const dbs: TestDatabase[] = [];
  const orms: MikroORM[] = [];
  const deps = ingestDepsFor('', 'settle');

  beforeAll(async () => {
    for (let k = 0; k < 2; k += 1) {
      const db = await createTestDatabase('hub_resolve_retry');
      dbs.push(db);
      const orm = await openOrm(db.url, { poolMax: 2 });
      orms.push(orm);
      await migrate(orm);
      const router = new TopicRouter(connectors);
      const r = seeded(11);
      for (let i = 0; i < events.length; ) {
        const n = r.int(1, 40);
        await ingestBatch(orm, router, `order-${i}`, events.slice(i, i + n), deps);
        i += n;
      }
    }
  }, 300_000);
  afterAll(async () => {
    for (const orm of orms) await orm.close(true);
    for (const db of dbs) await db.drop();
  });

  it('repairs the same golden records as a pass without the deadlock', async () => {
    const [plain, failing] = orms as [MikroORM, MikroORM];
    expect(await partition((dbs[1] as TestDatabase).url)).toEqual(await partition((dbs[0] as TestDatabase).url));
    const expected = await resolvePass(plain, deps.matcher, (em, changed) => deps.followUp.run(em, changed), {
      full: true,
    });
    expect(expected.moved).toBeGreaterThan(0);
    const wrapped = deadlockingOnce(failing);
    const got = await resolvePass(wrapped, deps.matcher, (em, changed) => deps.followUp.run(em, changed), {
      full: true,
    });
    expect(wrapped.aborted()).toBeGreaterThan(0);
    expect(got).toEqual(expected);
    expect(await partition((dbs[1] as TestDatabase).url)).toEqual(await partition((dbs[0] as TestDatabase).url));
  }, 300_000);
});
