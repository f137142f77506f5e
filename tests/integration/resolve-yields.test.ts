import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { retriesTotal } from '../../src/observability/metrics.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { resolvePass, touchedSince } from '../../src/sync/resolve.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { identicalStores, partition, resolutionEvents, type Stores } from '../support/resolution-stores.ts';

/**
 * The resolution pass yields to ingest (found by the soak at 600 events/s: a round waiting for a golden record an
 * ingest transaction had locked after a higher one closed a lock cycle, and PostgreSQL counted a deadlock). While
 * another transaction holds a golden record of its first round, the pass must not wait for it — its round fails at
 * once (NOWAIT), is counted as a retry and tried again after a pause — and once the row is free it ends exactly as
 * a pass that never met the lock.
 */
const events = resolutionEvents(60);

const lockRetries = async () =>
  (await retriesTotal.get()).values
    .filter((v) => v.labels.connector === 'resolution-pass' && v.labels.cause === 'timeout')
    .reduce((sum, v) => sum + v.value, 0);

describe('resolution pass and a row held by another transaction', () => {
  const deps = ingestDepsFor('', 'settle');
  let stores: Stores;
  let dbs: TestDatabase[] = [];
  let orms: MikroORM[] = [];

  beforeAll(async () => {
    stores = await identicalStores('hub_resolve_yields', 2, events, deps);
    ({ dbs, orms } = stores);
  }, 300_000);
  afterAll(() => stores?.drop());

  it('does not wait for the lock, retries, and ends as an undisturbed pass', async () => {
    const [plain, held] = orms as [MikroORM, MikroORM];
    const url = (dbs[1] as TestDatabase).url;
    const expected = await resolvePass(plain, deps.matcher, (em, changed) => deps.followUp.run(em, changed), {
      full: true,
    });
    expect(expected.moved).toBeGreaterThan(0);

    // Another transaction (ingest, say) holds the first seed's golden record.
    const [first] = await touchedSince(held.em.fork(), null);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1 from party where id = $1 for no key update', [first]);
    const retriesBefore = await lockRetries();
    const pass = resolvePass(held, deps.matcher, (em, changed) => deps.followUp.run(em, changed), { full: true });

    // For a second (the pass's first tries and their pauses), no session of the store waits for a lock.
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    let waiting = 0;
    for (let t = 0; t < 20; t += 1) {
      const { rows: w } = await watcher.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      waiting = Math.max(waiting, w[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    await watcher.end();
    expect(waiting).toBe(0);
    expect(await lockRetries()).toBeGreaterThan(retriesBefore);

    await holder.query('commit');
    await holder.end();
    expect(await pass).toEqual(expected);
    expect(await partition(url)).toEqual(await partition((dbs[0] as TestDatabase).url));
  }, 300_000);
});
