import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import type { Role } from '../../src/auth/viewer.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * `Query.node(id)` over HTTP: every node type (customer, policy, alert, blacklist entry, review task) comes back
 * by the id its own query returns, each role is refused exactly where the type's own query refuses it, and
 * masking applies as on the type's own fields.
 */
const idNo = residentId('110105', '19850307', '123');
const mobile = '13800138000';
const at = dteupd('2026-11-01T00:00:00Z');
const roles: Role[] = ['CHANNEL_APP', 'UNDERWRITER', 'RISK_ADMIN', 'DATA_STEWARD', 'INTEGRATION_ADMIN', 'COMPLIANCE'];

const client = (no: string, given: string, id: string | null, phone: string | null, dob: number) =>
  coreEvent('client', 'r', {
    CLNTNUM: no,
    CLTTYPE: 'P',
    SURNAME: '王',
    GIVNAME: given,
    CLTSEX: 'M',
    CLTDOB: dob,
    IDTYPE: id ? '01' : null,
    IDNO: id,
    MOBILE: phone,
    DTEUPD: at,
  });

const nodeQuery = `query($id: ID!) { node(id: $id) { __typename id
  ... on Customer { displayName identifiers { value } contactPoints { kind value } }
  ... on Policy { system policyNo }
  ... on Alert { rule evidence customer { id } }
  ... on BlacklistEntry { list phone idNumber }
  ... on ReviewTask { status candidate { id } } } }`;

describe('Query.node', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const ids: Record<'Customer' | 'Policy' | 'Alert' | 'BlacklistEntry' | 'ReviewTask', string> = {
    Customer: '',
    Policy: '',
    Alert: '',
    BlacklistEntry: '',
    ReviewTask: '',
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
    await setAlertHolds(db.url, 0);
    const birth = Number(idNo.slice(6, 14));
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'node',
      [
        client('N0000001', '小明', idNo, mobile, birth),
        // Two unrelated customers on the same mobile: a shared-phone alert.
        client('N0000002', '伟', residentId('310104', '19700101', '011'), mobile, 19700101),
        client('N0000003', '芳', residentId('440104', '19900505', '022'), mobile, 19900505),
        // A possible match (same common name, birth date one digit apart): a review task.
        client('N0000004', '秀英', null, '13700001111', 19650303),
        client('N0000005', '秀英', null, null, 19650304),
        coreEvent('policy', 'r', {
          CHDRNUM: 'NP000001',
          CNTTYPE: 'END',
          STATCODE: 'IF',
          OCCDATE: 20200101,
          PTDATE: 0,
          SINSTAMT: '10000.00',
          INSTPREM: '100.00',
          BILLFREQ: '12',
          SRCEBUS: 'BA',
          AGNTNUM: null,
          DTEUPD: at,
        }),
        coreEvent('role', 'r', {
          CHDRNUM: 'NP000001',
          CLNTNUM: 'N0000001',
          CLRRROLE: 'OW',
          BNYSEQ: null,
          BNYPC: null,
          VALIDFLAG: '1',
          DTEUPD: at,
        }),
      ],
      ingestDeps,
    );
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    const risk = await tokenFor(hub, 'RISK_ADMIN');
    const c = await gql(
      hub.url,
      steward,
      `{ customerBySource(system: "core-policy", sourceId: "N0000001") { id policies { edges { node { id policyNo } } } } }`,
    );
    expect(c.errors).toBeUndefined();
    ids.Customer = c.data.customerBySource.id;
    ids.Policy = c.data.customerBySource.policies.edges[0].node.id;
    const alerts = await gql(hub.url, risk, `{ alerts(rule: "SHARED_CONTACT") { edges { node { id } } } }`);
    ids.Alert = alerts.data.alerts.edges[0].node.id;
    const proposed = await gql(
      hub.url,
      risk,
      `mutation { proposeBlacklistEntry(input: { list: INTERNAL_FRAUD, idNumber: "${idNo}", phone: "${mobile}", reason: "staged claims" }) { __typename ... on BlacklistEntry { id } } }`,
    );
    ids.BlacklistEntry = proposed.data.proposeBlacklistEntry.id;
    const tasks = await gql(hub.url, steward, `{ reviewTasks { edges { node { id sourceRecord { sourceId } } } } }`);
    ids.ReviewTask = tasks.data.reviewTasks.edges.find(
      (e: { node: { sourceRecord: { sourceId: string } } }) => e.node.sourceRecord.sourceId === 'N0000005',
    ).node.id;
    for (const id of Object.values(ids)) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('returns each node type by the id its own query gives, that id unchanged', async () => {
    for (const [type, id] of Object.entries(ids)) {
      const role: Role = type === 'ReviewTask' ? 'DATA_STEWARD' : 'RISK_ADMIN';
      const r = await gql(hub.url, await tokenFor(hub, role), nodeQuery, { id });
      expect(r.errors, type).toBeUndefined();
      expect(r.data.node).toMatchObject({ __typename: type, id });
    }
    const steward = await tokenFor(hub, 'DATA_STEWARD');
    expect((await gql(hub.url, steward, nodeQuery, { id: ids.Policy })).data.node).toMatchObject({
      system: 'core-policy',
      policyNo: 'NP000001',
    });
    // An id of nothing, and a string that is no id at all: null, not an error.
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const r = await gql(hub.url, steward, nodeQuery, { id });
      expect(r.errors).toBeUndefined();
      expect(r.data.node).toBeNull();
    }
  });

  it('refuses each role exactly where the type’s own query refuses it', async () => {
    const own: Record<keyof typeof ids, string> = {
      Customer: `{ customer(id: "${ids.Customer}") { id } }`,
      Policy: `{ customer(id: "${ids.Customer}") { policies { edges { node { id } } } } }`,
      Alert: `{ alerts { edges { node { id } } } }`,
      BlacklistEntry: `{ blacklistEntries { edges { node { id } } } }`,
      ReviewTask: `{ reviewTasks { edges { node { id } } } }`,
    };
    let refused = 0;
    for (const role of roles) {
      const token = await tokenFor(hub, role);
      for (const [type, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
        const viaOwn = await gql(hub.url, token, own[type]);
        const viaNode = await gql(hub.url, token, nodeQuery, { id });
        const ownCode = viaOwn.errors?.[0]?.extensions?.code ?? null;
        expect(viaNode.errors?.[0]?.extensions?.code ?? null, `${role} ${type}`).toBe(ownCode);
        if (ownCode === 'FORBIDDEN') {
          refused += 1;
          expect(viaNode.data?.node ?? null).toBeNull();
        } else expect(viaNode.data.node.id, `${role} ${type}`).toBe(id);
      }
    }
    // Alerts and entries for risk staff only, tasks for stewards only, customers not for compliance.
    expect(refused).toBeGreaterThanOrEqual(12);
  });

  it('masks as the type’s own fields do', async () => {
    const channel = await gql(hub.url, await tokenFor(hub, 'CHANNEL_APP'), nodeQuery, { id: ids.Customer });
    expect(channel.data.node.displayName).toBe('王小明');
    expect(channel.data.node.identifiers[0].value).toBe(`1101**********${idNo.slice(-4)}`);
    expect(JSON.stringify(channel.data.node)).not.toContain(mobile);
    const steward = await gql(hub.url, await tokenFor(hub, 'DATA_STEWARD'), nodeQuery, { id: ids.Customer });
    expect(steward.data.node.identifiers[0].value).toBe(idNo);

    // Underwriters see id numbers and evidence, not phones.
    const underwriter = await tokenFor(hub, 'UNDERWRITER');
    const alert = await gql(hub.url, underwriter, nodeQuery, { id: ids.Alert });
    expect(alert.errors).toBeUndefined();
    expect(alert.data.node.evidence.phones[0].key).toBe('138****8000');
    expect(JSON.stringify(alert.data.node)).not.toContain(mobile);
    const entry = await gql(hub.url, underwriter, nodeQuery, { id: ids.BlacklistEntry });
    expect(entry.data.node).toMatchObject({ list: 'INTERNAL_FRAUD', idNumber: idNo });
    expect(entry.data.node.phone).not.toContain(mobile);
    expect(entry.data.node.phone).toMatch(/^138\*+8000$/);
  });
});
