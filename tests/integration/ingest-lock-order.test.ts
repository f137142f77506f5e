import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { coreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { loadStates } from '../../src/sync/party-batch-load.ts';
import type { PartyChange } from '../../src/sync/party-batch-types.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { client } from '../support/programme-events.ts';

/**
 * The ingest's state loading (loadStates) locks a batch's source records in slices of 500. Each slice was
 * locked in id order, but the slices followed the batch's order, so a batch of more than 500 records could hold a
 * high id while it waited for a low one — crosswise to anything locking in ascending id order (the resolution
 * pass, another batch), a deadlock (seen in the soak, soak/soak.ts). Deterministic: another transaction holds
 * the lowest record, the batch loads its states (the highest record in its first slice, the lowest in its
 * second) and waits; then the other transaction asks for the highest record. With one global ascending order
 * the batch waits before taking the highest record, so the other gets it, commits, and the batch goes on.
 */
const records = 620;
const events: BatchInputMessage[] = Array.from({ length: records }, (_, i) =>
  coreEvent(
    'client',
    'r',
    client(`L${String(i).padStart(7, '0')}`, {
      SURNAME: '测',
      GIVNAME: `试${i}`,
      CLTDOB: 19800101 + (i % 28),
      IDTYPE: null,
    }),
  ),
);

describe('ingest lock order', () => {
  let db: TestDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase('hub_lock_order');
    orm = await openOrm(db.url, { poolMax: 3 });
    await migrate(orm);
    await ingestBatch(orm, new TopicRouter(connectors), 'load', events, ingestDepsFor('', 'settle'));
  }, 300_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('loads a batch of more than one slice in one ascending id order: no deadlock with an ascending locker', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ id: string; system: string; source_id: string }>(
        `select id::text, system, source_id from source_record order by id`,
      );
      expect(rows.length).toBe(records);
      const low = rows[0] as (typeof rows)[number];
      const high = rows.at(-1) as (typeof rows)[number];
      // The batch: the highest record first (first slice of 500), the lowest last (second slice).
      const middle = rows.slice(1, -1);
      const batch = [high, ...middle, low].map((r) => ({ system: r.system, sourceId: r.source_id }) as PartyChange);
      const before = Number(
        (await c.query(`select deadlocks from pg_stat_database where datname = current_database()`)).rows[0]?.deadlocks,
      );

      await c.query('begin');
      await c.query(`select 1 from source_record where id = $1 for no key update`, [low.id]);
      const loading = orm.em.fork().transactional((tx) => loadStates(tx, batch));
      let loadError: unknown = null;
      loading.catch((e) => {
        loadError = e;
      });
      // Wait until the batch waits for the lowest record (a lock wait on source_record).
      for (let i = 0; ; i += 1) {
        const { rows: waiting } = await c.query(
          `select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
        );
        if (waiting.length > 0) break;
        if (i > 200) throw new Error('the batch never waited for the lowest record');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Now the other transaction takes the highest record. A batch holding it already (slices in batch order)
      // deadlocks here; PostgreSQL aborts one of the two after deadlock_timeout.
      let otherError: unknown = null;
      try {
        await c.query(`select 1 from source_record where id = $1 for no key update`, [high.id]);
        await c.query('commit');
      } catch (e) {
        otherError = e;
        await c.query('rollback');
      }
      const states = await loading.catch(() => null);
      expect({ other: (otherError as { code?: string } | null)?.code ?? null }).toEqual({ other: null });
      expect((loadError as { code?: string } | null)?.code ?? null).toBeNull();
      expect(states?.size).toBe(records);
      const after = Number(
        (await c.query(`select deadlocks from pg_stat_database where datname = current_database()`)).rows[0]?.deadlocks,
      );
      expect(after - before).toBe(0);
    } finally {
      await c.end();
    }
  }, 120_000);
});
