import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CUSTOMER } from '../../src/demo/generate-core-policy.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * The newcomer's path: no DATABASE_URL → embedded PGlite (with pg_trgm) behind the PostgreSQL wire protocol,
 * demo data loaded through the connector batch path, GraphQL over HTTP; the data survives a restart.
 */
describe('embedded default (PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-pglite-'));
  let hub: RunningHub | undefined;
  afterAll(async () => {
    await hub?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const query = `query($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node {
    id displayName identifiers { type valid } policies { totalCount edges { roles { role } node { policyNo covers { rider } } } }
    activities(first: 50) { edges { node { kind } } } sourceRecords { system } } } } }`;

  it('serves the demo customer by phone, with policies and roles, and keeps data across restarts', async () => {
    hub = await startTestHub({ DATABASE_URL: undefined, HUB_DATA_DIR: dataDir }, { demo: true });
    expect(hub.embedded).toBe(true);
    expect(hub.liveConsumption).toBe(false);
    const token = await tokenFor(hub, 'CHANNEL_APP');
    const first = await gql(hub.url, token, query, {
      phone: DEMO_CUSTOMER.mobile.replace(/^(\d{3})(\d{4})(\d{4})$/, '+86 $1 $2 $3'),
    });
    expect(first.errors).toBeUndefined();
    const node = first.data.searchCustomers.edges[0]?.node;
    expect(node.displayName).toBe(DEMO_CUSTOMER.name);
    expect(node.policies.totalCount).toBeGreaterThanOrEqual(3);
    expect(node.policies.edges.flatMap((e: any) => e.roles.map((r: any) => r.role))).toContain('POLICYHOLDER');
    expect(node.policies.edges.every((e: any) => e.node.covers.some((c: any) => c.rider === '00'))).toBe(true);
    // the other demo sources reached the same golden customer through their connectors
    expect(new Set(node.activities.edges.map((e: any) => e.node.kind))).toEqual(
      new Set(['PAYMENT', 'CLAIM', 'INTERACTION', 'REGISTRATION', 'CONSENT', 'LEAD']),
    );
    expect(new Set(node.sourceRecords.map((s: any) => s.system))).toEqual(
      new Set(['core-policy', 'billing', 'claims', 'web-app', 'agency-crm']),
    );

    await hub.stop();
    hub = await startTestHub({ DATABASE_URL: undefined, HUB_DATA_DIR: dataDir }, { demo: false });
    const again = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), query, { phone: DEMO_CUSTOMER.mobile });
    expect(again.data.searchCustomers.edges[0]?.node.id).toBe(node.id);
  });
});
