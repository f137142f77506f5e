import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentHash } from '../../src/resolvers/trusted-documents.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';

/**
 * With trusted documents switched on, a channel app runs the operations it was built with — by id, or by
 * sending the same document — and nothing else: any other document is refused before it is parsed.
 */
const search =
  'query FindCaller($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node { id } } } }';

describe('trusted documents', () => {
  let db: TestDatabase;
  let hub: RunningHub;

  beforeAll(async () => {
    db = await createTestDatabase();
    const manifest = join(mkdtempSync(join(tmpdir(), 'trusted-')), 'persisted-documents.json');
    writeFileSync(manifest, JSON.stringify({ [documentHash(search)]: search }));
    hub = await startTestHub({ DATABASE_URL: db.url, HUB_TRUSTED_DOCUMENTS: manifest });
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  const post = async (body: unknown) => {
    const res = await fetch(hub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(hub, 'CHANNEL_APP')}` },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
    };
  };

  it('runs a trusted operation by id or by its document, and refuses any other', async () => {
    const variables = { phone: '13800138000' };
    const byId = await post({ documentId: documentHash(search), variables });
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data).toEqual({ searchCustomers: { edges: [] } });
    const apq = await post({
      extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(search) } },
      variables,
    });
    expect(apq.body.data).toEqual({ searchCustomers: { edges: [] } });
    expect((await post({ query: search, variables })).body.errors).toBeUndefined();

    for (const body of [
      { query: '{ searchCustomers(query: { name: "王" }) { edges { node { id displayName } } } }' },
      { documentId: 'f'.repeat(64) },
    ]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UNTRUSTED_DOCUMENT');
    }
  });

  it('does the same for queries sent by GET', async () => {
    const token = await tokenFor(hub, 'CHANNEL_APP');
    const get = async (params: Record<string, string>) => {
      const res = await fetch(`${hub.url}?${new URLSearchParams(params)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return {
        status: res.status,
        body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
      };
    };
    const variables = JSON.stringify({ phone: '13800138000' });
    for (const params of [
      { documentId: documentHash(search), variables },
      { extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: documentHash(search) } }), variables },
      { query: search, variables },
    ] as Record<string, string>[]) {
      const r = await get(params);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data).toEqual({ searchCustomers: { edges: [] } });
    }
    for (const params of [{ query: '{ hubVersion }' }, { documentId: 'f'.repeat(64) }, {}] as Record<
      string,
      string
    >[]) {
      const r = await get(params);
      expect(r.status).toBe(400);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UNTRUSTED_DOCUMENT');
    }
  });
});
