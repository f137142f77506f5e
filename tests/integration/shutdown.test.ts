import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startHubAsUsersDo, type UserHubProcess } from '../support/hub-process.ts';
import { eventually } from '../support/graphql.ts';
import { testJwtSecret } from '../support/hub.ts';

/**
 * Shutdown as an orchestrator does it: the hub runs the way users run it (through npm, without NODE_ENV=test)
 * and gets SIGTERM — on the embedded default and on PostgreSQL with Kafka, idle and in the middle of a backlog.
 * It must be gone (npm and node) within 10 s with exit code 0; a second signal ends it at once; after a
 * shutdown under load a restart applies the rest, with nothing lost or applied twice.
 */
const budget = 10_000;

/** The processes npm started for the hub (with `exec` in the script, node itself). */
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Sends `signal` to npm (as an orchestrator signals the container's first process) and times the way out. */
async function terminate(hub: UserHubProcess, signal: NodeJS.Signals = 'SIGTERM') {
  const npmPid = hub.child.pid as number;
  const nodePids = childrenOf(npmPid);
  expect(nodePids.length).toBeGreaterThan(0);
  const started = performance.now();
  hub.child.kill(signal);
  const exit = await hub.exited;
  await eventually(async () => (nodePids.some(alive) ? undefined : true), budget, 'the node process to exit');
  return { ...exit, ms: performance.now() - started, nodePids };
}

describe('shutdown on the embedded default', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-shutdown-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('npm start with demo data stops on SIGTERM within 10 s and starts again on the same data', async () => {
    for (let round = 0; round < 2; round += 1) {
      const hub = startHubAsUsersDo(['start'], { HUB_DATA_DIR: dataDir });
      const url = await hub.url;
      expect((await fetch(new URL('/readyz', url))).status).toBe(200);
      const exit = await terminate(hub);
      expect(exit.ms).toBeLessThan(budget);
      expect(exit.code).toBe(0);
      expect(hub.output()).toContain('"msg":"stopped"');
    }
  });
});

describe('shutdown on PostgreSQL with Kafka', () => {
  let db: TestDatabase;
  let brokers: string[];
  const prefix = `sd${randomBytes(3).toString('hex')}.`;
  // Enough that the first SIGTERM lands while the backlog is applied: 8,000 were all applied before it once the
  // risk and programme workers left the ingest thread.
  const total = 24_000;
  const env = () => ({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_ID: `shutdown-${prefix}`,
    HUB_JWT_SECRET: testJwtSecret,
  });
  const policies = async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(`select count(*)::int as n from policy`)).rows[0].n as number;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase('hub_shutdown');
    const kafka = createKafka(brokers, 'test-producer');
    await ensureTopics(
      kafka,
      Object.values(corePolicyTopics).map((t) => prefix + t),
    );
    const at = dteupd('2026-11-01T00:00:00Z');
    await publish(
      kafka,
      Array.from({ length: total }, (_, i) =>
        coreEvent('policy', 'r', {
          CHDRNUM: `SD${String(i).padStart(7, '0')}`,
          CNTTYPE: 'TL1',
          STATCODE: 'IF',
          SINSTAMT: '1000.00',
          DTEUPD: at + i,
        }),
      ).map((e) => ({ ...e, topic: prefix + e.topic })),
    );
  }, 180_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('stops mid-backlog within 10 s, within its budget when a part stalls, at once on a second signal; a restart applies exactly the rest', async () => {
    // Under load: SIGTERM while the backlog is being applied.
    const first = startHubAsUsersDo(['run', 'hub', '--', 'start'], env());
    await first.url;
    await eventually(async () => ((await policies()) > 0 ? true : undefined), 60_000, 'ingest to start');
    const underLoad = await terminate(first);
    expect(underLoad.ms).toBeLessThan(budget);
    expect(underLoad.code).toBe(0);
    const applied = await policies();
    expect(applied).toBeLessThan(total);

    // A part that never finishes stopping: the budget still ends the process in time, and a second signal
    // ends it at once.
    for (const second of [false, true]) {
      const stalled = startHubAsUsersDo(['run', 'hub', '--', 'start'], {
        ...env(),
        HUB_FAULT_INJECTION: 'stall-shutdown',
      });
      await stalled.url;
      const npmPid = stalled.child.pid as number;
      const [nodePid] = childrenOf(npmPid);
      const started = performance.now();
      process.kill(nodePid as number, 'SIGTERM');
      if (second) {
        await eventually(
          async () => (stalled.output().includes('stalling shutdown') ? true : undefined),
          5_000,
          'shutdown to stall',
        );
        process.kill(nodePid as number, 'SIGTERM');
      }
      const exit = await stalled.exited;
      await eventually(async () => (alive(nodePid as number) ? undefined : true), budget, 'node to exit');
      const ms = performance.now() - started;
      if (second) {
        expect(ms).toBeLessThan(3_000);
        expect(exit.code).toBe(143);
      } else {
        expect(ms).toBeLessThan(budget);
        expect(ms).toBeGreaterThan(8_000);
        expect(exit.code).toBe(0);
        expect(stalled.output()).toContain('part did not stop in time');
      }
    }

    // Restart: the rest is applied, nothing twice (policies are keyed by number; the count is exact).
    const third = startHubAsUsersDo(['run', 'hub', '--', 'start'], env());
    await third.url;
    await eventually(async () => ((await policies()) === total ? true : undefined), 120_000, 'the rest to be applied');
    // Idle: SIGTERM with nothing to do.
    const idle = await terminate(third);
    expect(idle.ms).toBeLessThan(budget);
    expect(idle.code).toBe(0);
    expect(await policies()).toBe(total);
  });
});
