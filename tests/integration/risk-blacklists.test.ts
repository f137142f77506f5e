import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createKafka, ensureTopics, publish } from '../../src/messaging/kafka.ts';
import { streamingConnectors } from '../../src/connectors/registry.ts';
import { coreEvent, dteupd, residentId, type CoreEvent } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { signToken } from '../../src/auth/viewer.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importListFile } from '../../src/risk/list-import.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * Blacklists for underwriters on the real broker and database: maker–checker, immediate screening of existing
 * customers on approval and of new records on arrival, a traditional-character list name hitting the
 * simplified name, dismissal that holds until something changes, and role-based visibility of risk details.
 */
const wangId = residentId('110105', '19850307', '123');
let clock = 0;
const at = () => dteupd('2026-11-01T00:00:00Z') + (clock += 1) * 1_000_000;
const client = (no: string, over: Record<string, string | number | null>) =>
  coreEvent('client', 'r', { CLNTNUM: no, CLTTYPE: 'P', CLTSEX: 'M', IDTYPE: '01', DTEUPD: at(), ...over });
const propose = `mutation($input: BlacklistEntryInput!) { proposeBlacklistEntry(input: $input) { __typename ... on BlacklistEntry { id status } ... on ErrorResult { errorCode message } } }`;
const approve = `mutation($id: ID!) { approveBlacklistEntry(id: $id) { __typename ... on BlacklistEntry { id status approvedBy audit { action actor } } ... on ErrorResult { errorCode message } } }`;
const flags = `query($s: String!) { customerBySource(system: "core-policy", sourceId: $s) { riskFlags { kind level reason hit { id list score matched status entry { list } } } } }`;

describe('blacklists and screening', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  let adminA: string;
  let adminB: string;
  let underwriter: string;
  const prefix = `k${randomBytes(3).toString('hex')}.`;
  const send = (events: CoreEvent[]) =>
    publish(
      createKafka(brokers, 'test-producer'),
      events.map((e) => ({ ...e, topic: prefix + e.topic })),
    );
  const hitsOf = async (sourceId: string, token = underwriter) =>
    (await gql(hub.url, token, flags, { s: sourceId })).data?.customerBySource?.riskFlags.filter(
      (f: any) => f.kind === 'BLACKLIST_HIT',
    ) ?? [];

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(
      createKafka(brokers, 'test'),
      streamingConnectors.flatMap((c) => c.manifest.topics.map((t) => prefix + t)),
    );
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    adminA = await signToken(hub.tokens, 'risk-admin-a', ['RISK_ADMIN']);
    adminB = await signToken(hub.tokens, 'risk-admin-b', ['RISK_ADMIN']);
    underwriter = await tokenFor(hub, 'UNDERWRITER');
    await send([
      client('C0000001', { SURNAME: '王', GIVNAME: '小明', CLTDOB: 19850307, IDNO: wangId, MOBILE: '13800138000' }),
      client('C0000002', {
        SURNAME: '张',
        GIVNAME: '伟',
        CLTDOB: 19700101,
        IDNO: residentId('310104', '19700101', '111'),
        MOBILE: '13600136000',
      }),
    ]);
    await eventually(
      async () =>
        (await gql(hub.url, underwriter, flags, { s: 'C0000002' })).data?.customerBySource ? true : undefined,
      60_000,
      'customers ingested',
    );
    await eventually(
      async () =>
        (await gql(hub.url, underwriter, flags, { s: 'C0000001' })).data?.customerBySource ? true : undefined,
      60_000,
      'customers ingested',
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('takes effect only after a second risk admin approves, and then flags the existing customer at once', async () => {
    const p = await gql(hub.url, adminA, propose, {
      input: {
        list: 'INTERNAL_FRAUD',
        idNumber: wangId,
        fullName: '王小明',
        reason: 'staged accident 2025',
        authority: 'SIU',
      },
    });
    expect(p.data.proposeBlacklistEntry).toMatchObject({ __typename: 'BlacklistEntry', status: 'PROPOSED' });
    expect(await hitsOf('C0000001')).toEqual([]);
    const self = await gql(hub.url, adminA, approve, { id: p.data.proposeBlacklistEntry.id });
    expect(self.data.approveBlacklistEntry).toMatchObject({
      __typename: 'SelfApprovalError',
      errorCode: 'SELF_APPROVAL',
    });
    const byUnderwriter = await gql(hub.url, underwriter, approve, { id: p.data.proposeBlacklistEntry.id });
    expect(byUnderwriter.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await gql(hub.url, adminB, approve, { id: p.data.proposeBlacklistEntry.id });
    expect(ok.data.approveBlacklistEntry).toMatchObject({
      __typename: 'BlacklistEntry',
      status: 'ACTIVE',
      approvedBy: 'risk-admin-b',
    });
    expect(ok.data.approveBlacklistEntry.audit.map((a: any) => `${a.action}:${a.actor}`)).toEqual([
      'PROPOSED:risk-admin-a',
      'APPROVED:risk-admin-b',
    ]);
    const hits = await hitsOf('C0000001');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      level: 'HIGH',
      hit: { list: 'INTERNAL_FRAUD', matched: ['ID_NUMBER', 'NAME'], status: 'OPEN' },
    });
    // A channel app sees that there is a flag and its level, not why.
    const channel = await hitsOf('C0000001', await tokenFor(hub, 'CHANNEL_APP'));
    expect(channel).toEqual([{ kind: 'BLACKLIST_HIT', level: 'HIGH', reason: null, hit: null }]);
  });

  it('hits the simplified name with a traditional-character sanctions entry confirmed by birth date; dismissal holds until the customer changes', async () => {
    const p = await gql(hub.url, adminA, propose, {
      input: {
        list: 'SANCTIONS',
        fullName: '張偉',
        birthDate: '1970-01-01',
        reason: 'regulator list 2026-11',
        authority: 'NFRA',
      },
    });
    await gql(hub.url, adminB, approve, { id: p.data.proposeBlacklistEntry.id });
    const hits = await hitsOf('C0000002');
    expect(hits).toHaveLength(1);
    expect(hits[0].hit).toMatchObject({ list: 'SANCTIONS', matched: ['NAME', 'BIRTH_DATE'] });

    // A sanctions hit: four eyes. The underwriter proposes the dismissal (the hit stays open), cannot confirm it
    // alone, and a risk admin confirms it.
    const dismiss = `mutation($id: ID!) { dismissScreeningHit(id: $id, reason: "different person: other id number") { __typename ... on ScreeningHit { status dismissedReason dismissalProposedBy } ... on ErrorResult { errorCode } } }`;
    const proposed = await gql(hub.url, underwriter, dismiss, { id: hits[0].hit.id });
    expect(proposed.data.dismissScreeningHit).toMatchObject({
      __typename: 'ScreeningHit',
      status: 'OPEN',
      dismissalProposedBy: 'test-underwriter',
    });
    expect(await hitsOf('C0000002')).toHaveLength(1);
    const alone = await gql(hub.url, underwriter, dismiss, { id: hits[0].hit.id });
    expect(alone.data.dismissScreeningHit).toMatchObject({
      __typename: 'SelfApprovalError',
      errorCode: 'SELF_APPROVAL',
    });
    const dismissed = await gql(hub.url, adminB, dismiss, { id: hits[0].hit.id });
    expect(dismissed.data.dismissScreeningHit).toMatchObject({ __typename: 'ScreeningHit', status: 'DISMISSED' });
    expect(await hitsOf('C0000002')).toEqual([]);
    // The same record redelivered changes nothing: still dismissed.
    await send([
      client('C0000002', {
        SURNAME: '张',
        GIVNAME: '伟',
        CLTDOB: 19700101,
        IDNO: residentId('310104', '19700101', '111'),
        MOBILE: '13600136000',
        DTEUPD: dteupd('2026-11-01T00:00:00Z') + 2_000_000,
      }),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await hitsOf('C0000002')).toEqual([]);
    // The customer changes (new occupation): the dismissal no longer holds and the hit is back for review.
    await send([
      client('C0000002', {
        SURNAME: '张',
        GIVNAME: '伟',
        CLTDOB: 19700101,
        IDNO: residentId('310104', '19700101', '111'),
        MOBILE: '13600136000',
        OCCPCODE: 'Z9',
      }),
    ]);
    const back = await eventually(
      async () => {
        const h = await hitsOf('C0000002');
        return h.length === 1 ? h : undefined;
      },
      30_000,
      'the hit to reopen after the customer changed',
    );
    expect(back[0].hit.status).toBe('OPEN');
  });

  it('imports a list file as one proposed batch, reports bad rows by line, and needs a second admin to approve it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'list-')), 'regulator.csv');
    writeFileSync(
      file,
      [
        'list,id_number,full_name,birth_date,phone,bank_account,credit_code,reason,authority,effective_from,effective_to',
        `SANCTIONS,,孙九,1991-02-02,,,,regulator notice 12,NFRA,2026-01-01,`,
        `INTERNAL_FRAUD,${residentId('440104', '19910101', '555')},钱七,,,,,fraud ring,SIU,,`,
        `WATCH,,王五,,,,,x,,,`,
        `BAD_DEBT,,,,,,,no identifiers,,,`,
        `BAD_DEBT,${residentId('440104', '19910101', '555').slice(0, 17)},,,,,,17-digit id,,,`,
        `SANCTIONS,,赵六,01/02/1990,,,,bad date,,,`,
      ].join('\n'),
    );
    const result = await hub.orm.em.fork().transactional((em) => importListFile(em, file, 'risk-admin-a'));
    expect(result.proposed).toBe(2);
    expect(result.rejected).toEqual([
      { line: 4, reason: expect.stringMatching(/list must be one of/) },
      { line: 5, reason: expect.stringMatching(/at least one identifier/) },
      { line: 6, reason: expect.stringMatching(/not a valid identity number/) },
      { line: 7, reason: expect.stringMatching(/birth_date must be YYYY-MM-DD/) },
    ]);
    const batch = `mutation($b: ID!) { approveBlacklistBatch(batchId: $b) { __typename ... on BlacklistBatchApproval { approved } ... on ErrorResult { errorCode } } }`;
    expect((await gql(hub.url, adminA, batch, { b: result.batchId })).data.approveBlacklistBatch).toMatchObject({
      __typename: 'SelfApprovalError',
      errorCode: 'SELF_APPROVAL',
    });
    expect((await gql(hub.url, adminB, batch, { b: result.batchId })).data.approveBlacklistBatch).toEqual({
      __typename: 'BlacklistBatchApproval',
      approved: 2,
    });
  });

  it('flags a new source record of a listed person on arrival', async () => {
    const p = await gql(hub.url, adminA, propose, {
      input: { list: 'BAD_DEBT', phone: '+86 139 0000 0000', reason: 'premium loan default', authority: 'collections' },
    });
    await gql(hub.url, adminB, approve, { id: p.data.proposeBlacklistEntry.id });
    await send([
      client('C0000003', {
        SURNAME: '李',
        GIVNAME: '四',
        CLTDOB: 19900101,
        IDNO: residentId('440104', '19900101', '333'),
        MOBILE: '13900000000',
      }),
    ]);
    const hits = await eventually(
      async () => {
        const h = await hitsOf('C0000003');
        return h.length === 1 ? h : undefined;
      },
      60_000,
      'the new customer to be screened on arrival',
    );
    expect(hits[0]).toMatchObject({ level: 'MEDIUM', hit: { list: 'BAD_DEBT', matched: ['PHONE'] } });

    const invalid = await gql(hub.url, adminA, propose, { input: { list: 'BAD_DEBT', reason: 'no identifiers' } });
    expect(invalid.data.proposeBlacklistEntry).toMatchObject({
      __typename: 'ValidationError',
      errorCode: 'BAD_USER_INPUT',
    });
    const deactivated = await gql(
      hub.url,
      adminB,
      `mutation($id: ID!) { deactivateBlacklistEntry(id: $id, reason: "paid back") { __typename ... on BlacklistEntry { status } } }`,
      { id: p.data.proposeBlacklistEntry.id },
    );
    expect(deactivated.data.deactivateBlacklistEntry).toMatchObject({ status: 'INACTIVE' });
    expect(await hitsOf('C0000003')).toEqual([]);
  });
});
