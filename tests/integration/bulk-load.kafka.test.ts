import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connectors, streamingConnectors } from '../../src/connectors/registry.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { migrate, openOrm } from '../../src/db/orm.ts';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { ingestDepsFor, type RunningHub } from '../../src/runtime/hub.ts';
import { startTestHub, testJwtSecret } from '../support/hub.ts';
import { endOffsets, kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { converge, storeFingerprint } from '../support/fingerprint.ts';

/**
 * Going live as an operator does: the source topics hold a snapshot; `npm run hub -- bulk-load` (a real process)
 * loads it into the empty store; a hub started afterwards in the same consumer group streams on from the
 * positions the load stored — the rest of the traffic arrives live. The store ends equal (after the resolution
 * pass) to one that applied all the traffic through the streaming path.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('bulk load from the topics, then streaming takes over', () => {
  const dbs: TestDatabase[] = [];
  let hub: RunningHub | undefined;
  let brokers: string[];
  const prefix = `bl${randomBytes(3).toString('hex')}.`;
  const group = `bulk-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    dbs.push(await createTestDatabase('hub_bulk_kafka'), await createTestDatabase('hub_bulk_reference'));
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map((t) => prefix + t)),
    );
  });
  afterAll(async () => {
    await hub?.stop();
    for (const db of dbs) await db.drop();
  });

  it('loads the snapshot in one step and streams the rest from its positions', async () => {
    const [db, reference] = dbs as [TestDatabase, TestDatabase];
    const traffic = generateTraffic({ seed: 53, clients: 250, policies: 320 });
    const cut = Math.floor(traffic.length * 0.8);
    const snapshot = traffic.slice(0, cut);
    const live = traffic.slice(cut);
    await publish(
      createKafka(brokers, 'test-producer'),
      snapshot.map((m) => ({ ...m, topic: prefix + m.topic })),
    );
    const ends = await endOffsets(brokers, new Set(snapshot.map((m) => prefix + m.topic)));

    const child = spawn(process.execPath, ['src/cli/hub.ts', 'bulk-load'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: group,
        HUB_JWT_SECRET: testJwtSecret,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toContain(`bulk load: ${snapshot.length} messages`);
    expect(output).toContain(`set as the Kafka offsets of group ${group}`);

    // The positions the load stored are the snapshot's end offsets; the group's Kafka offsets match them.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ topic: string; partition: number; next_offset: string }>(
        `select topic, partition, next_offset::text as next_offset from consumer_offset where consumer_group = $1`,
        [group],
      );
      expect(new Map(rows.map((r) => [`${r.topic}/${r.partition}`, BigInt(r.next_offset)]))).toEqual(ends);
    } finally {
      await c.end();
    }
    const admin = createKafka(brokers, 'test-admin').admin();
    await admin.connect();
    try {
      const committed = new Map<string, bigint>();
      for (const t of await admin.fetchOffsets({
        groupId: group,
        topics: [...new Set(snapshot.map((m) => prefix + m.topic))],
      }))
        for (const p of t.partitions)
          if (BigInt(p.offset) > 0n) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
      expect(committed).toEqual(ends);
    } finally {
      await admin.disconnect();
    }

    // The hub streams on from there; the rest of the traffic arrives live.
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: group,
      RISK_ROUND_MS: '200',
    });
    await publishAndWait(brokers, prefix, db.url, live, 180_000);
    await hub.stop();
    hub = undefined;
    await converge(db.url);

    const orm = await openOrm(reference.url, { poolMax: 2 });
    try {
      await migrate(orm);
      await ingestBatch(orm, new TopicRouter(connectors), 'all', traffic, ingestDepsFor('', 'settle', false));
    } finally {
      await orm.close(true);
    }
    await converge(reference.url);
    const got = await storeFingerprint(db.url);
    const want = await storeFingerprint(reference.url);
    for (const table of Object.keys(want)) expect({ table, rows: got[table] }).toEqual({ table, rows: want[table] });
  }, 300_000);
});
