import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditResult, serverAudits } from 'graphql-http';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';

/**
 * GraphQL over HTTP (the GraphQL Foundation's spec): graphql-http's server audits run against the running hub's
 * URL with a channel app's token (every request of the hub needs one), in development and in production mode.
 * Every MUST passes in development. In production the two MUST audits whose documents are introspection
 * queries (`__type(name:)`) meet the hub's production rule — no introspection — and are answered as any
 * document that does not validate; the same requirements (a UTF-8 request with characters outside the BMP, a
 * map of variables) are checked there with an ordinary query instead.
 */
const introspectionAudits = new Set(['BF61', '28B9']);

async function runAudits(hub: RunningHub): Promise<AuditResult[]> {
  const token = await tokenFor(hub, 'CHANNEL_APP');
  const fetchFn = (input: string | URL, init: RequestInit = {}) =>
    fetch(input, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
    });
  const results: AuditResult[] = [];
  for (const audit of serverAudits({ url: hub.url, fetchFn })) results.push(await audit.fn());
  return results;
}

const failures = (results: AuditResult[]) =>
  results.filter((r) => r.name.startsWith('MUST') && r.status !== 'ok').map((r) => `${r.id} ${r.name}`);

describe('GraphQL over HTTP conformance', () => {
  let db: TestDatabase;
  let dev: RunningHub;
  let prod: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    dev = await startTestHub({ DATABASE_URL: db.url, HUB_DEV: '1' });
    prod = await startTestHub({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await dev?.stop();
    await prod?.stop();
    await db?.drop();
  });

  it('passes every MUST audit of graphql-http in development, and the GET audits too', async () => {
    const results = await runAudits(dev);
    expect(results.filter((r) => r.name.startsWith('MUST')).length).toBeGreaterThanOrEqual(13); // graphql-http 1.23.1 has 13
    expect(failures(results)).toEqual([]);
    // application/graphql-response+json when accepted; queries by GET (x-www-form-urlencoded parameters,
    // variables as URL-encoded JSON), never a mutation.
    for (const id of ['22EB', '5A70', '6A70', 'D6D5', '9C48'])
      expect(results.find((r) => r.id === id)?.status, id).toBe('ok');
  });

  it('in production, fails only the MUST audits that need introspection, and meets their requirement otherwise', async () => {
    const results = await runAudits(prod);
    expect(failures(results)).toEqual(
      results.filter((r) => introspectionAudits.has(r.id)).map((r) => `${r.id} ${r.name}`),
    );
    const token = await tokenFor(prod, 'CHANNEL_APP');
    const post = (contentType: string, body: unknown) =>
      fetch(prod.url, {
        method: 'POST',
        headers: { 'content-type': contentType, accept: 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    // BF61: a UTF-8 request (characters outside the BMP in an argument) is accepted.
    const utf8 = await post('application/json; charset=utf-8', {
      query: '{ searchCustomers(query: { name: "Run🏃Swim🏊" }) { edges { node { id } } } }',
    });
    expect(utf8.status).toBe(200);
    expect(await utf8.json()).toEqual({ data: { searchCustomers: { edges: [] } } });
    // 28B9: a map of variables.
    const variables = await post('application/json', {
      query: 'query Find($name: String!) { searchCustomers(query: { name: $name }) { edges { node { id } } } }',
      variables: { name: '王小明' },
    });
    expect(variables.status).toBe(200);
    expect(await variables.json()).toEqual({ data: { searchCustomers: { edges: [] } } });
    // What the introspection audits got: the production rule, not a transport failure.
    const introspection = await post('application/json', {
      query: 'query Type($name: String!) { __type(name: $name) { name } }',
      variables: { name: 'sometype' },
    });
    const body = (await introspection.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0]?.message).toMatch(/introspection/i);
  });
});
