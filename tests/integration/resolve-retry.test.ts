import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolvePass } from '../../src/sync/resolve.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { identicalStores, partition, resolutionEvents, type Stores } from '../support/resolution-stores.ts';

/**
 * The resolution pass against a deadlock (found by the soak, soak/soak.ts: a round waited for golden records an
 * ingest merge held while the merge waited for source records the round had locked; PostgreSQL aborted the round
 * and the whole pass waited for its next run). A round that PostgreSQL aborts as a deadlock — here after it did
 * all its work, so everything it did is rolled back — is tried again and ends exactly as a pass without one.
 */
const events = resolutionEvents(60);

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
  const deps = ingestDepsFor('', 'settle');
  let stores: Stores;
  let dbs: TestDatabase[] = [];
  let orms: MikroORM[] = [];

  beforeAll(async () => {
    stores = await identicalStores('hub_resolve_retry', 2, events, deps);
    ({ dbs, orms } = stores);
  }, 300_000);
  afterAll(() => stores?.drop());

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
