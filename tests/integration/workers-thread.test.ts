import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/config/logger.ts';
import { executeBound } from '../../src/db/bound-sql.ts';
import { generateTraffic } from '../../src/demo/generate-traffic.ts';
import { startHub, type RunningHub } from '../../src/runtime/hub.ts';
import { eventually } from '../support/graphql.ts';
import { testConfig } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The risk and programme workers run on a thread of their own (src/runtime/background-workers.ts). Their log lines
 * and metrics reach the hub's logger and `/metrics`; a thread that dies is started again, and what ingest queued
 * meanwhile is settled by the next one. Here the thread ends itself after every risk round that settled work
 * (HUB_FAULT_INJECTION=exit-workers-thread): every wave of events still has its risk work settled.
 */
describe('the background workers thread', () => {
  let db: TestDatabase;
  let hub: RunningHub | undefined;
  let brokers: string[];
  const prefix = `wt${randomBytes(3).toString('hex')}.`;
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug: (msg, fields) => void lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
    child: () => logger,
  };

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase('hub_workers_thread');
    process.env.HUB_FAULT_INJECTION = 'exit-workers-thread';
    const config = testConfig({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      RISK_ROUND_MS: '200',
      LOG_LEVEL: 'debug',
    });
    hub = await startHub(config, { demo: false, logger });
  }, 120_000);
  afterAll(async () => {
    delete process.env.HUB_FAULT_INJECTION;
    await hub?.stop();
    await db?.drop();
  });

  const queued = async () => {
    const [row] = await executeBound<{ n: number }[]>(
      (hub as RunningHub).orm.em.fork(),
      `select count(*)::int as n from risk_work`,
    );
    return row?.n ?? -1;
  };
  it('settles every wave of events although the thread dies after each round, and reports through the hub', async () => {
    for (const seed of [3, 4]) {
      await publishAndWait(brokers, prefix, db.url, generateTraffic({ seed, clients: 8, policies: 10 }));
      await eventually(
        async () => ((await queued()) === 0 ? true : undefined),
        60_000,
        'the risk work queued by the wave settled',
      );
    }
    const restarts = lines.filter((l) => l.msg === 'the background workers thread exited; starting it again');
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(restarts[0]?.level).toBe('error');
    // The thread's own debug lines came through the hub's logger.
    expect(lines.some((l) => l.msg === 'risk round settled')).toBe(true);
    // And its metrics through the hub's /metrics, summed over the threads that reported them.
    const metrics = await (await fetch((hub as RunningHub).url.replace('/graphql', '/metrics'))).text();
    const rounds = metrics
      .split('\n')
      .filter((l) => l.startsWith('hub_risk_rounds_total'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(rounds).toBeGreaterThanOrEqual(2);
  });
});
