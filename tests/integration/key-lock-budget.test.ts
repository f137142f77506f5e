import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { coreEvent, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { type SourceMessage, textMessage } from '../../src/connectors/framework/connector.ts';
import { executeBound } from '../../src/db/bound-sql.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import {
  addBatchResult,
  applyBatches,
  emptyBatchResult,
  PartiallyApplied,
  type BatchPart,
  type IngestDeps,
} from '../../src/ingest/apply-batch.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { client } from '../support/programme-events.ts';
import { partition } from '../support/resolution-stores.ts';

/**
 * Each advisory lock an ingest transaction takes (one per source record and blocking key of its party changes)
 * holds a slot of the server's shared lock table until commit; a catch-up group of 1,276 client changes took
 * 7,679 and filled it ("out of shared memory"). A group over the budget is applied in several transactions, one
 * after the other, each with its positions — and ends as one transaction would have.
 */
describe('the advisory-lock budget of an ingest transaction', () => {
  let small: TestDatabase;
  let whole: TestDatabase;
  let orms: MikroORM[] = [];
  /** The advisory locks held by the one transaction that applied the group into `whole`, without a budget. */
  let heldInOne: number[] = [];

  beforeAll(async () => {
    small = await createTestDatabase('hub_key_budget');
    whole = await createTestDatabase('hub_key_whole');
    orms = [await openOrm(small.url, { poolMax: 2 }), await openOrm(whole.url, { poolMax: 2 })];
    for (const orm of orms) await migrate(orm);
    // The reference: the same group in one transaction (both tests compare with it).
    const inOne = counting(1_000_000);
    await applyBatches(orms[1] as MikroORM, 'hub', parts(), inOne.deps);
    heldInOne = inOne.held;
  }, 300_000);
  afterAll(async () => {
    for (const orm of orms) await orm.close(true);
    await small?.drop();
    await whole?.drop();
  });

  // 240 client records on two partitions; every fourth is a second record (another client number, the same
  // name, birth date, id number and mobile) of the one before it on the other partition, so merges cross the
  // transactions' boundaries.
  const person = (i: number) => ({
    SURNAME: '钱',
    GIVNAME: `名${i}`,
    CLTDOB: 19700101 + (i % 28),
    IDNO: residentId('330106', String(19700101 + (i % 28)), String(100 + i).padStart(3, '0')),
    MOBILE: `139${String(10_000_000 + i)}`,
  });
  const partitionMessages = (p: number): SourceMessage[] =>
    Array.from({ length: 120 }, (_, k) => {
      const i = p * 120 + k;
      const same = k % 4 === 3 ? (1 - p) * 120 + k - 1 : i;
      const m = coreEvent('client', 'c', client(`K${p}${String(k).padStart(6, '0')}`, person(same)));
      return textMessage(m.topic, k, m.key, m.value);
    });
  const parts = (): BatchPart[] => {
    const route = new TopicRouter(connectors).route(partitionMessages(0)[0]?.topic as string);
    if (!route) throw new Error('no route for the core-policy client topic');
    return [0, 1].map((p) => ({ route, partition: p, messages: partitionMessages(p) }));
  };

  /** The deps with a budget, counting each transaction's advisory locks from inside it (its follow-up step). */
  const counting = (maxKeyLocks: number, failAt = 0) => {
    const base = ingestDepsFor('', 'settle');
    const held: number[] = [];
    const deps: IngestDeps = {
      ...base,
      maxKeyLocks,
      followUp: {
        phase: base.followUp.phase,
        async run(em, changed) {
          // The `failAt`-th transaction fails at its end, as a deadlock would.
          if (held.length + 1 === failAt) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
          const [row] = await executeBound<{ n: number }[]>(
            em,
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`,
          );
          held.push(row?.n ?? -1);
          await base.followUp.run(em, changed);
        },
      },
    };
    return { deps, held };
  };

  it('applies a group over the budget in several transactions, each within it, with the state of one', async () => {
    const withBudget = counting(150);
    const results = await applyBatches(orms[0] as MikroORM, 'hub', parts(), withBudget.deps);

    expect(heldInOne).toHaveLength(1);
    expect(heldInOne[0]).toBeGreaterThan(150);
    expect(withBudget.held.length).toBeGreaterThan(2);
    for (const n of withBudget.held) expect(n).toBeGreaterThan(0);
    for (const n of withBudget.held) expect(n).toBeLessThanOrEqual(150);

    // Every message once (changes are counted per source system, with a transaction's first part of it), the
    // positions at the end of each partition.
    expect(results.reduce((n, r) => n + r.applied + r.stale, 0)).toBe(240);
    expect(results.map((r) => [r.skipped, r.quarantined, r.nextOffset])).toEqual([
      [0, 0, '120'],
      [0, 0, '120'],
    ]);
    // The same golden records as one transaction: 240 records, 180 people.
    const golden = await partition(small.url);
    expect(golden).toHaveLength(180);
    expect(golden).toEqual(await partition(whole.url));
    const c = new pg.Client({ connectionString: small.url });
    await c.connect();
    try {
      const positions = await c.query(
        `select partition, next_offset::text as next from consumer_offset where consumer_group = 'hub' order by partition`,
      );
      expect(positions.rows).toEqual([
        { partition: 0, next: '120' },
        { partition: 1, next: '120' },
      ]);
    } finally {
      await c.end();
    }

    // Delivered again (a crash before Kafka's offset commit): every message skipped.
    const again = await applyBatches(orms[0] as MikroORM, 'hub', parts(), counting(150).deps);
    expect(again.map((r) => r.skipped)).toEqual([120, 120]);
    expect(await partition(small.url)).toEqual(golden);
  });

  it('reports what the committed transactions did when a later one fails, and applies only the rest again', async () => {
    const db = await createTestDatabase('hub_key_partial');
    const orm = await openOrm(db.url, { poolMax: 2 });
    try {
      await migrate(orm);
      const first = parts();
      const failing = counting(150, 3);
      const error = await applyBatches(orm, 'hub', first, failing.deps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartiallyApplied);
      const partial = error as PartiallyApplied;
      expect((partial as { code?: string }).code).toBe('40P01');
      // Two transactions committed: the committed prefix of each part, keyed by the part handed in.
      expect(failing.held).toHaveLength(2);
      const done = first.map((p) => partial.committed.get(p)?.messages ?? 0);
      expect(done[0]).toBeGreaterThan(0);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const stored = await c.query<{ n: number }>(`select count(*)::int as n from source_record`);
        expect(stored.rows[0]?.n).toBe((done[0] ?? 0) + (done[1] ?? 0));
      } finally {
        await c.end();
      }
      // The rest, as a caller applies it again; with the committed results, every message counted once.
      const total = first.map((p) => ({ ...emptyBatchResult(), ...partial.committed.get(p)?.result }));
      const rest = first.map((p, i) => ({ ...p, messages: p.messages.slice(done[i]) }));
      const after = await applyBatches(orm, 'hub', rest, counting(150).deps);
      after.forEach((r, i) => addBatchResult(total[i] as ReturnType<typeof emptyBatchResult>, r));
      expect(total.reduce((n, r) => n + r.applied + r.stale, 0)).toBe(240);
      expect(total.map((r) => [r.skipped, r.nextOffset])).toEqual([
        [0, '120'],
        [0, '120'],
      ]);
      expect(await partition(db.url)).toEqual(await partition(whole.url));

      // Stopping between transactions ends the group there, what committed reported the same way.
      const stopDb = await createTestDatabase('hub_key_stop');
      const stopOrm = await openOrm(stopDb.url, { poolMax: 2 });
      try {
        await migrate(stopOrm);
        const stopping = counting(150);
        const stopped = await applyBatches(stopOrm, 'hub', parts(), {
          ...stopping.deps,
          isStopping: () => stopping.held.length >= 1,
        }).catch((e: unknown) => e);
        expect(stopped).toBeInstanceOf(PartiallyApplied);
        expect(stopping.held).toHaveLength(1);
        expect(
          [...(stopped as PartiallyApplied).committed.values()].reduce((n, c) => n + c.messages, 0),
        ).toBeGreaterThan(0);
      } finally {
        await stopOrm.close(true);
        await stopDb.drop();
      }
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });
});
