import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { coreEvent, dteupd, residentId, type CoreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub } from '../support/hub.ts';
import { eventually } from '../support/graphql.ts';

/**
 * Two hub instances in one consumer group share the client topic's partitions. Each person's two client
 * numbers are keyed differently, so they usually land on different partitions — i.e. on different instances —
 * and arrive at the same moment. The blocking-key locks must still give each person exactly one golden record.
 */
describe('concurrent consumers in one group', () => {
  let db: TestDatabase;
  const hubs: RunningHub[] = [];
  const prefix = `cc${randomBytes(3).toString('hex')}.`;
  const group = `cc-${randomBytes(3).toString('hex')}`;
  let brokers: string[];

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      Object.values(corePolicyTopics).map((t) => prefix + t),
      4,
    );
    for (let i = 0; i < 2; i += 1)
      hubs.push(
        await startTestHub({
          DATABASE_URL: db.url,
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          KAFKA_GROUP_ID: group,
        }),
      );
  });
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    await db?.drop();
  });

  it('creates one golden record per person when its records arrive on two instances at once', async () => {
    const admin = createKafka(brokers, 'test-admin').admin();
    await admin.connect();
    // Both instances own partitions of the client topic before anything is published.
    await eventually(
      async () => {
        const { groups } = await admin.describeGroups([group]);
        const g = groups[0];
        return g &&
          g.state === 'Stable' &&
          g.members.length === 2 &&
          g.members.every((m) => m.memberAssignment.length > 0)
          ? true
          : undefined;
      },
      60_000,
      'a stable group of two members',
    );
    await admin.disconnect();

    const persons = 60;
    const at = dteupd('2026-11-01T00:00:00Z');
    const events: CoreEvent[] = [];
    for (let p = 0; p < persons; p += 1) {
      const id = residentId('320102', '19880808', String(100 + p).padStart(3, '0'));
      for (const prefixChar of ['X', 'Y']) {
        events.push(
          coreEvent('client', 'r', {
            CLNTNUM: `${prefixChar}${String(p).padStart(7, '0')}`,
            CLTTYPE: 'P',
            SURNAME: '周',
            GIVNAME: `同${p}`,
            CLTSEX: 'M',
            CLTDOB: 19880808,
            IDTYPE: '01',
            IDNO: id,
            MOBILE: `136${String(p).padStart(8, '0')}`,
            DTEUPD: at,
          }),
        );
      }
    }
    await publish(
      createKafka(brokers, 'test-producer'),
      events.map((e) => ({ ...e, topic: prefix + e.topic })),
    );

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await eventually(
        async () => {
          const r = await c.query(`select count(*)::int as n from source_record where party_id is not null`);
          return r.rows[0].n === persons * 2 ? true : undefined;
        },
        90_000,
        'all records applied',
      );
      const perPerson = await c.query(
        `select substr(source_id, 2) as person, count(distinct party_id)::int as parties from source_record group by 1`,
      );
      expect(perPerson.rows).toHaveLength(persons);
      expect(perPerson.rows.filter((r) => r.parties !== 1)).toEqual([]);
      const active = await c.query(`select count(*)::int as n from party where status = 'ACTIVE'`);
      expect(active.rows[0].n).toBe(persons);
    } finally {
      await c.end();
    }
  });
});
