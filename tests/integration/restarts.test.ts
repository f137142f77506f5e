import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureBroker, stopBroker } from '../../scripts/kafka/broker.ts';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';
import { eventually } from '../support/graphql.ts';

/**
 * Nothing is lost when the broker restarts or the database drops the hub's connections during ingest.
 * The broker here is a second, dedicated KRaft broker (its own port and data), so restarting it does not
 * disturb the other test files; the database outage is every hub connection being terminated by the server
 * (what clients see when PostgreSQL restarts), on the test's own database only.
 */
const port = 19096;
const policies = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    coreEvent('policy', 'r', {
      CHDRNUM: `RS${String(from + i).padStart(6, '0')}`,
      CNTTYPE: 'TL1',
      STATCODE: 'IF',
      SINSTAMT: '1000.00',
      DTEUPD: dteupd('2026-11-01T00:00:00Z') + from + i,
    }),
  );

describe('restarts during ingest', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `rs${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    brokers = (await ensureBroker({ port, log: () => {} })).brokers;
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      Object.values(corePolicyTopics).map((t) => prefix + t),
    );
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
  }, 180_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
    await stopBroker({ port });
  }, 180_000);

  const count = async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(`select count(*)::int as n from policy`)).rows[0].n as number;
    } finally {
      await c.end();
    }
  };

  it('applies every event across a broker restart and a database connection loss', async () => {
    const send = (events: ReturnType<typeof policies>) =>
      publish(
        createKafka(brokers, 'test-producer'),
        events.map((e) => ({ ...e, topic: prefix + e.topic })),
      );
    await send(policies(0, 300));
    await eventually(async () => ((await count()) >= 300 ? true : undefined), 60_000, 'first events');

    // Broker restart: stop it, produce nothing meanwhile, start it again, then publish more.
    await stopBroker({ port });
    await new Promise((r) => setTimeout(r, 3000));
    await ensureBroker({ port, log: () => {} });
    await send(policies(300, 300));
    await eventually(
      async () => ((await count()) === 600 ? true : undefined),
      120_000,
      'events after the broker restart',
    );

    // Database connection loss while events are flowing.
    const flowing = send(policies(600, 600));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await new Promise((r) => setTimeout(r, 300));
    const killed = await admin.query(
      `select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()) t`,
    );
    await admin.end();
    await flowing;
    expect(killed.rows[0].n).toBeGreaterThan(0);
    await eventually(
      async () => ((await count()) === 1200 ? true : undefined),
      120_000,
      'every event after the connection loss',
    );
    // Exactly once: every policy once, none lost, none twice.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const dup = await c.query(`select count(distinct policy_no)::int as n from policy`);
    await c.end();
    expect(dup.rows[0].n).toBe(1200);
  });
});
