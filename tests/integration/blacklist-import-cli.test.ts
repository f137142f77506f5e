import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { signToken, tokenSettings } from '../../src/auth/viewer.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { testJwtSecret } from '../support/hub.ts';

/**
 * `npm run hub -- blacklist import` as an operator runs it: the proposer is the identity the token names, not a
 * name typed on the command line, so one operator cannot be maker and checker; no token, a token of a role that
 * may not propose, or a forged one, and nothing is imported.
 */
const run = promisify(execFile);

describe('blacklist import from the command line', () => {
  let db: TestDatabase;
  const file = join(mkdtempSync(join(tmpdir(), 'list-cli-')), 'list.csv');
  const env = () => ({ ...process.env, DATABASE_URL: db.url, HUB_JWT_SECRET: testJwtSecret, LOG_LEVEL: 'error' });
  const hub = (args: string[], extra: Record<string, string> = {}) =>
    run('npm', ['run', '--silent', 'hub', '--', 'blacklist', 'import', file, ...args], {
      env: { ...env(), ...extra },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    writeFileSync(
      file,
      'list,id_number,full_name,birth_date,phone,bank_account,credit_code,reason,authority,effective_from,effective_to\nSANCTIONS,,孙九,1991-02-02,,,,regulator notice 12,NFRA,2026-01-01,\n',
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('takes the proposer from the token and refuses to import without a valid one', async () => {
    const settings = tokenSettings(testJwtSecret, 'customer-hub');
    const admin = await signToken(settings, 'risk-admin-li', ['RISK_ADMIN']);
    const app = await signToken(settings, 'app', ['CHANNEL_APP']);
    const forged = await signToken(tokenSettings('x'.repeat(40), 'customer-hub'), 'risk-admin-li', ['RISK_ADMIN']);

    expect((await hub([])).code).not.toBe(0);
    expect((await hub(['--proposer', 'anyone'])).code).not.toBe(0);
    const denied = await hub(['--token', app]);
    expect(denied.code).not.toBe(0);
    expect(denied.out).toMatch(/may not propose/);
    expect((await hub(['--token', forged])).code).not.toBe(0);

    const ok = await hub([], { HUB_TOKEN: admin });
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/1 entries proposed/);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const rows = (await c.query(`select proposed_by, status from blacklist_entry`)).rows;
      expect(rows).toEqual([{ proposed_by: 'risk-admin-li', status: 'PROPOSED' }]);
    } finally {
      await c.end();
    }
  });
});
