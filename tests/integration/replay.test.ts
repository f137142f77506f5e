import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { connectorById, connectors, streamingConnectors } from '../../src/connectors/registry.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import { replayConnector } from '../../src/ingest/replay.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createLogger } from '../../src/config/logger.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub } from '../support/hub.ts';
import { eventually } from '../support/graphql.ts';

/** Replaying one connector restores what it owns without touching other connectors or the live group. */
describe('replay of one connector', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `r${randomBytes(3).toString('hex')}.`;
  const group = `live-${prefix}`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map((t) => prefix + t)),
    );
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: group,
    });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('re-reads core-policy from the beginning and from a time, leaving billing and the live group alone', async () => {
    const kafka = createKafka(brokers, 'test-producer');
    const at = dteupd('2026-11-01T00:00:00Z');
    await publish(
      kafka,
      [
        ...Array.from({ length: 10 }, (_, i) =>
          coreEvent('policy', 'r', {
            CHDRNUM: `RP${String(i).padStart(6, '0')}`,
            CNTTYPE: 'TL1',
            STATCODE: 'IF',
            SINSTAMT: '1000.00',
            DTEUPD: at + i,
          }),
        ),
        {
          topic: 'billing.payments.v1',
          key: 'RPAY1',
          value: JSON.stringify({
            eventId: 'R1',
            eventType: 'PREMIUM_PAID',
            occurredAt: '2026-11-03T10:00:00+08:00',
            paymentId: 'RPAY1',
            policyNo: 'RP000000',
            payer: null,
            amount: '1.00',
            currency: 'CNY',
            status: 'SUCCESS',
          }),
        },
      ].map((m) => ({ ...m, topic: prefix + m.topic })),
    );
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await eventually(
        async () =>
          (await c.query(`select (select count(*) from policy)::int + (select count(*) from activity)::int as n`))
            .rows[0].n === 11
            ? true
            : undefined,
        60_000,
        'initial ingest',
      );
      const admin = kafka.admin();
      await admin.connect();
      const liveBefore = await admin.fetchOffsets({ groupId: group, topics: [`${prefix}corepol.LIFEDB.CHDR`] });

      // Lose data from both connectors (an operator's mistake, a restored backup …).
      await c.query(`delete from policy`);
      await c.query(`delete from activity`);
      const router = new TopicRouter(connectors, prefix);
      const report = await replayConnector({
        kafka,
        orm: hub.orm,
        router,
        connector: connectorById('core-policy'),
        from: 'beginning',
        deps: ingestDeps,
        groupPrefix: group,
        logger: createLogger('error'),
      });
      expect(report).toMatchObject({ connector: 'core-policy', messages: 10, applied: 10, quarantined: 0 });
      expect((await c.query(`select count(*)::int as n from policy where not deleted`)).rows[0].n).toBe(10);
      // billing was not replayed: its lost row stays lost until billing itself is replayed
      expect((await c.query(`select count(*)::int as n from activity`)).rows[0].n).toBe(0);
      // and the live group's committed positions did not move
      expect(await admin.fetchOffsets({ groupId: group, topics: [`${prefix}corepol.LIFEDB.CHDR`] })).toEqual(
        liveBefore,
      );
      await admin.disconnect();

      // From a point in time: only messages published after it are re-read.
      const cut = new Date();
      await new Promise((r) => setTimeout(r, 50));
      await publish(
        kafka,
        [
          coreEvent('policy', 'u', {
            CHDRNUM: 'RP000000',
            CNTTYPE: 'TL1',
            STATCODE: 'LA',
            SINSTAMT: '1000.00',
            DTEUPD: at + 100,
          }),
        ].map((m) => ({ ...m, topic: prefix + m.topic })),
      );
      await eventually(
        async () =>
          (await c.query(`select status from policy where policy_no = 'RP000000'`)).rows[0]?.status === 'LA'
            ? true
            : undefined,
        30_000,
        'live update',
      );
      const partial = await replayConnector({
        kafka,
        orm: hub.orm,
        router,
        connector: connectorById('core-policy'),
        from: cut,
        deps: ingestDeps,
        groupPrefix: group,
        logger: createLogger('error'),
      });
      expect(partial).toMatchObject({ messages: 1, applied: 0, stale: 1 });
    } finally {
      await c.end();
    }
  });
});
