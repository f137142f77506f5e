import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { ConfigError } from '../../src/config/config.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, testJwtSecret, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * A hub on a real database behaves as production unless told otherwise: tokens need an audience, an expiry and
 * a bounded lifetime; no introspection, field suggestions, stack traces or statement counts; JSON errors for
 * malformed bodies; security headers; and no development token — without HUB_JWT_SECRET it does not start.
 */
const secret = new TextEncoder().encode(testJwtSecret);
const token = (build: (j: SignJWT) => SignJWT) =>
  build(
    new SignJWT({ roles: ['DATA_STEWARD'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('t')
      .setIssuer('customer-hub'),
  ).sign(secret);
const probe = `{ searchCustomers(query: { name: "王" }) { edges { cursor } } }`;

describe('production defaults', () => {
  let db: TestDatabase;
  let hub: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('accepts a token with audience, expiry and a bounded lifetime; refuses one without', async () => {
    const good = await token((j) => j.setAudience('customer-hub').setIssuedAt().setExpirationTime('1h'));
    expect((await gql(hub.url, good, probe)).errors).toBeUndefined();
    const cases = {
      'no expiry': await token((j) => j.setAudience('customer-hub').setIssuedAt()),
      'no audience': await token((j) => j.setIssuedAt().setExpirationTime('1h')),
      'another audience': await token((j) => j.setAudience('billing').setIssuedAt().setExpirationTime('1h')),
      'a year long': await token((j) => j.setAudience('customer-hub').setIssuedAt().setExpirationTime('365d')),
    };
    for (const [name, t] of Object.entries(cases)) {
      const r = await gql(hub.url, t, probe);
      expect(r.status, name).toBe(401);
      expect(r.errors?.[0]?.extensions?.code, name).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(r.errors), name).not.toMatch(/stacktrace|\/work\/|node_modules/);
    }
  });

  it('answers without introspection, suggestions, stack traces or statement counts, with security headers', async () => {
    const t = await tokenFor(hub, 'CHANNEL_APP');
    const intro = await gql(hub.url, t, `{ __schema { types { name } } }`);
    expect(intro.data).toBeNull();
    expect(intro.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const typo = await gql(hub.url, t, `{ searchCustomer(query: { name: "x" }) { edges { cursor } } }`);
    expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect(JSON.stringify(typo.errors)).not.toMatch(/stacktrace/);
    const res = await fetch(hub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
      body: JSON.stringify({ query: probe }),
    });
    expect(res.headers.get('x-sql-statements')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers a malformed JSON body with a JSON error, not an HTML stack page', async () => {
    const res = await fetch(hub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(hub, 'CHANNEL_APP')}` },
      body: '{"query": "{ searchCustomers',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = await res.text();
    expect(JSON.parse(body).errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body).not.toMatch(/<html|\/work\/|node_modules|at /i);
  });

  it('does not start against a real database without HUB_JWT_SECRET (no development token there)', async () => {
    await expect(startTestHub({ DATABASE_URL: db.url, HUB_JWT_SECRET: undefined })).rejects.toThrow(ConfigError);
  });
});
