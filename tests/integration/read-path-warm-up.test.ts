import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLogger, type Logger } from '../../src/config/logger.ts';
import { startHub, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testConfig, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * A started hub has warmed its read path (src/resolvers/warm-up.ts): every read session is open and has run the
 * phone search and the customer 360 before the server listens, so the first callers open no session. Each pool's
 * sessions carry its name (`application_name`), so pg_stat_activity shows which part of the hub holds which.
 */
describe('read path warm-up', () => {
  const sessions = 3;
  let db: TestDatabase;
  let hub: RunningHub;
  let admin: pg.Client;
  const logged: { msg: string; fields?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('hub_warm_up');
    const config = testConfig({ DATABASE_URL: db.url, DB_POOL_MAX: String(sessions) });
    const base = createLogger(config.logLevel);
    const capture = (into: Logger): Logger => ({
      ...into,
      info: (msg, fields) => {
        logged.push({ msg, fields });
        into.info(msg, fields);
      },
      warn: (msg, fields) => {
        logged.push({ msg, fields });
        into.warn(msg, fields);
      },
      child: (fields) => capture(into.child(fields)),
    });
    hub = await startHub(config, { demo: false, logger: capture(base) });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await hub?.stop();
    await db?.drop();
  });

  const backends = async (where = '') => {
    const { rows } = await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() ${where} order by pid`,
    );
    return rows.map((r) => r.pid);
  };

  it('opens and uses every read session at start, so the first searches open none', async () => {
    expect(logged.find((l) => l.msg === 'read path warmed')?.fields).toMatchObject({ sessions });
    expect(logged.filter((l) => l.msg.startsWith('warming the read path failed'))).toEqual([]);
    // Every read session ran the warm-up (the customer 360 last, whose statement reads \`party\`).
    expect(
      (await backends(`and application_name = 'hub-read' and state = 'idle' and query like '%from party%'`)).length,
    ).toBe(sessions);
    const before = await backends();
    const token = await tokenFor(hub, 'CHANNEL_APP');
    const answers = await Promise.all(
      ['13800000001', '13800000002', '13800000003'].map((phone) =>
        gql(hub.url, token, `query($p: String!) { searchCustomers(query: { phone: $p }) { edges { node { id } } } }`, {
          p: phone,
        }),
      ),
    );
    for (const a of answers) expect(a.errors).toBeUndefined();
    // The sessions that ran the searches were all open before them.
    const searched = await backends(`and query like '%search_key%'`);
    expect(searched.length).toBeGreaterThan(0);
    for (const pid of searched) expect(before).toContain(pid);
  });

  it('names its sessions to PostgreSQL by what they do', async () => {
    const { rows } = await admin.query<{ app: string; n: number }>(
      `select application_name as app, count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
        group by 1 order by 1`,
    );
    const by = new Map(rows.map((r) => [r.app, r.n]));
    // The read pool's sessions, all open (the warm-up), and the ingest/outbox pool's.
    expect(by.get('hub-read')).toBe(sessions);
    expect(by.get('hub') ?? 0).toBeGreaterThan(0);
    expect([...by.keys()].every((app) => app.startsWith('hub'))).toBe(true);
  });
});
