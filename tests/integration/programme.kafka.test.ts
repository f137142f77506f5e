import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import {
  at,
  birthdayC,
  call,
  claim,
  client,
  DAY,
  day,
  holder,
  idA,
  idB,
  idC,
  payment,
  policy,
  yyyymmdd,
} from '../support/programme-events.ts';
import { corePolicyTopics } from '../../src/connectors/core-policy/manifest.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { eventually, gql } from '../support/graphql.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The customer programme on a real broker and PostgreSQL (issue 15 parts 1–2): value, lifecycle and segments
 * follow policies, payments and claims as they arrive and change; a segment definition change recomputes
 * everyone as a job whose progress is visible; follow-ups are derived on new business, lapse, claim payment and
 * an agent's departure, closed by the matching contact-centre call, visible when overdue; replayed duplicates
 * create nothing twice; complaints carry age and reopen count; care dates list birthdays and anniversaries.
 */
const valueQuery = `query($id: String!) { customerBySource(system: "core-policy", sourceId: $id) {
  id value { annualisedPremium totalPremiumPaid firstPolicyDate tenureDays policiesInForce policiesTotal claimsCount claimsPaid
    lossRatio orphanedPolicies lifecycle tier segments configVersion }
  followUps(first: 20) { totalCount edges { node { type status overdue dueDate policyNo attempts outcome closedByInteraction agentCode branch responsible } } }
  complaints { interactionId status reopenCount ageDays overdue }
} }`;

describe('the customer programme on a real broker', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  let steward: string;
  const prefix = `pg${randomBytes(3).toString('hex')}.`;
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const customer = async (clientNo: string) => {
    const r = await gql(hub.url, steward, valueQuery, { id: clientNo });
    expect(r.errors).toBeUndefined();
    return r.data.customerBySource;
  };
  const send = (messages: { topic: string; key: string | null; value: string | null }[]) =>
    publishAndWait(brokers, prefix, db.url, messages);

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test-producer'), [
      ...Object.values(corePolicyTopics).map((t) => prefix + t),
      `${prefix}billing.payments.v1`,
      `${prefix}claims.public.claim`,
      `${prefix}contact.interactions.v1`,
    ]);
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      RISK_ROUND_MS: '100',
      PROGRAMME_ROUND_MS: '100',
      HUB_PROGRAMME_REFRESH_HOURS: '0',
    });
    steward = await tokenFor(hub, 'DATA_STEWARD');
  }, 120_000);

  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('derives value, lifecycle and segments as policies, payments and claims arrive and change', async () => {
    await send([
      coreEvent('client', 'r', client('CA000001', { IDNO: idA, MOBILE: '13900001111' })),
      coreEvent('client', 'r', client('CB000001', { GIVNAME: '华', CLTDOB: 19820202, IDNO: idB })),
      coreEvent(
        'client',
        'r',
        client('CC000001', { GIVNAME: '强', CLTDOB: yyyymmdd(`1975${birthdayC.slice(4)}`), IDNO: idC }),
      ),
      coreEvent('policy', 'r', policy('PA000001', {})),
      holder('PA000001', 'CA000001'),
    ]);
    const a = await customer('CA000001');
    expect(a.value).toMatchObject({
      annualisedPremium: '12000.00',
      totalPremiumPaid: '0.00',
      firstPolicyDate: day(-10),
      tenureDays: 10,
      policiesInForce: 1,
      claimsCount: 0,
      lossRatio: null,
      lifecycle: 'NEW',
      tier: 'SILVER',
      // one policy, new, no claims: the seeded cross-sell audience
      segments: ['CROSS_SELL'],
    });
    // B and C hold nothing: prospects.
    expect((await customer('CB000001')).value).toMatchObject({ lifecycle: 'PROSPECT', tier: 'STANDARD' });

    // Premiums (billing names the payer by id document, not by client number) and a claim paid.
    await send([payment('PAY-A-1', '1000.00', at(-9)), payment('PAY-A-2', '1000.00', at(-2))]);
    await send([claim('PAID', '500.00', 1)]);
    const paid = await customer('CA000001');
    expect(paid.value).toMatchObject({
      totalPremiumPaid: '2000.00',
      claimsCount: 1,
      claimsPaid: '500.00',
      lossRatio: 0.25,
      segments: ['CLAIMANT'],
    });

    // B's policy is in force but paid only to five days ago (in the grace period): lapsing.
    await send([
      coreEvent('policy', 'r', policy('PB000001', { OCCDATE: yyyymmdd(day(-400)), PTDATE: yyyymmdd(day(-5)) })),
      holder('PB000001', 'CB000001'),
    ]);
    expect((await customer('CB000001')).value).toMatchObject({ lifecycle: 'LAPSING', policiesInForce: 1 });

    // A's policy lapses: nothing in force, a recent lapse.
    await send([
      coreEvent(
        'policy',
        'u',
        policy('PA000001', { STATCODE: 'LA', PTDATE: yyyymmdd(day(-70)), DTEUPD: dteupd(new Date().toISOString()) }),
      ),
    ]);
    expect((await customer('CA000001')).value).toMatchObject({
      annualisedPremium: '0.00',
      policiesInForce: 0,
      policiesTotal: 1,
      lifecycle: 'LAPSED',
      tier: 'STANDARD',
      segments: ['CLAIMANT', 'LAPSING'],
    });
  }, 120_000);

  it('creates follow-ups on new business, lapse and claim payment, closed by the matching call, overdue visible', async () => {
    const a = await customer('CA000001');
    const tasks = Object.fromEntries(a.followUps.edges.map((e: any) => [e.node.type, e.node]));
    expect(Object.keys(tasks).sort()).toEqual(['BENEFIT_PAYMENT', 'LAPSE', 'NEW_BUSINESS']);
    expect(tasks.NEW_BUSINESS).toMatchObject({
      status: 'OPEN',
      overdue: false,
      dueDate: day(5), // issued ten days ago, 15 days of cooling-off
      policyNo: 'PA000001',
      agentCode: 'AG001',
      responsible: 'AG001',
    });
    expect(tasks.BENEFIT_PAYMENT).toMatchObject({ status: 'OPEN', dueDate: day(-1 + 7), policyNo: 'PA000001' });
    expect(tasks.LAPSE).toMatchObject({ status: 'OPEN', dueDate: day(30) });
    // B's policy began 400 days ago: too old for a new-business follow-up (followUpMaxAgeDays).
    expect((await customer('CB000001')).followUps.totalCount).toBe(0);

    // An overdue one: D's policy was issued 40 days ago and never followed up.
    await send([
      coreEvent(
        'client',
        'r',
        client('CD000001', { GIVNAME: '丽', CLTSEX: 'F', IDNO: residentId('330106', '19900303', '042') }),
      ),
      coreEvent('policy', 'r', policy('PD000001', { OCCDATE: yyyymmdd(day(-40)), AGNTNUM: 'AG009' })),
      holder('PD000001', 'CD000001'),
    ]);
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const overdue = await gql(
      hub.url,
      app,
      `{ followUps(status: OVERDUE) { totalCount edges { node { type policyNo overdue dueDate customer { displayName identifiers { value } } } } } }`,
    );
    expect(overdue.errors).toBeUndefined();
    expect(overdue.data.followUps.edges.map((e: any) => e.node.policyNo)).toEqual(['PD000001']);
    expect(overdue.data.followUps.edges[0].node).toMatchObject({
      type: 'NEW_BUSINESS',
      overdue: true,
      dueDate: day(-25),
    });
    // A contact-centre app sees the customer's name, and the id number masked.
    const shown = overdue.data.followUps.edges[0].node.customer;
    expect(shown.displayName).toBe('李丽');
    expect(shown.identifiers[0].value).toContain('*');
    expect(JSON.stringify(overdue.data)).not.toContain('19900303');

    // Calls: a lapse call not answered (an attempt), then reached; a new-business call naming only the client
    // (no policy) closes the new-business task; a benefit call of another subtype closes nothing else.
    await send([call('CALL-L1', { subtype: 'LAPSED_POLICY', policyNo: 'PA000001', outcome: 'NO_ANSWER' })]);
    let lapse = (await customer('CA000001')).followUps.edges.find((e: any) => e.node.type === 'LAPSE').node;
    expect(lapse).toMatchObject({ status: 'OPEN', attempts: 1 });
    await send([
      call('CALL-L2', { subtype: 'LAPSED_POLICY', policyNo: 'PA000001', outcome: 'REACHED' }),
      call('CALL-N1', { subtype: 'NEW_POLICY', clientNo: 'CA000001', outcome: 'REACHED' }),
    ]);
    const after = Object.fromEntries(
      (await customer('CA000001')).followUps.edges.map((e: any) => [e.node.type, e.node]),
    );
    expect(after.LAPSE).toMatchObject({
      status: 'DONE',
      attempts: 1,
      outcome: 'REACHED',
      closedByInteraction: 'CALL-L2',
    });
    expect(after.NEW_BUSINESS).toMatchObject({ status: 'DONE', outcome: 'REACHED', closedByInteraction: 'CALL-N1' });
    expect(after.BENEFIT_PAYMENT).toMatchObject({ status: 'OPEN' });

    // A call recorded before its task exists closes the task when it is derived: E's welcome call, then E's policy.
    await send([call('CALL-E1', { subtype: 'NEW_POLICY', policyNo: 'PE000001', outcome: 'REACHED' })]);
    await send([
      coreEvent(
        'client',
        'r',
        client('CE000001', { GIVNAME: '伟', CLTDOB: 19880808, IDNO: residentId('330106', '19880808', '051') }),
      ),
      coreEvent('policy', 'r', policy('PE000001', { OCCDATE: yyyymmdd(day(-3)) })),
      holder('PE000001', 'CE000001'),
    ]);
    expect((await customer('CE000001')).followUps.edges.map((e: any) => e.node)).toEqual([
      expect.objectContaining({
        type: 'NEW_BUSINESS',
        status: 'DONE',
        closedByInteraction: 'CALL-E1',
        dueDate: day(12),
      }),
    ]);
    // Topics arrive in any order: F's call, then F's policy (its task closed at once, no holder known yet),
    // then the client and the holder's role. The closed task still becomes F's.
    await send([call('CALL-F1', { subtype: 'NEW_POLICY', policyNo: 'PF000001', outcome: 'REACHED' })]);
    await send([coreEvent('policy', 'r', policy('PF000001', { OCCDATE: yyyymmdd(day(-2)) }))]);
    await send([
      coreEvent(
        'client',
        'r',
        client('CF000001', { GIVNAME: '芳', CLTDOB: 19910909, IDNO: residentId('330106', '19910909', '062') }),
      ),
      holder('PF000001', 'CF000001'),
    ]);
    expect((await customer('CF000001')).followUps.edges.map((e: any) => e.node)).toEqual([
      expect.objectContaining({ type: 'NEW_BUSINESS', status: 'DONE', closedByInteraction: 'CALL-F1' }),
    ]);
    const done = await gql(hub.url, app, `{ followUps(status: DONE, first: 50) { totalCount } }`);
    expect(done.data.followUps.totalCount).toBe(4);
  }, 120_000);

  it('creates orphaned-policy follow-ups when an agent departs, for the branch', async () => {
    const record = `mutation($code: String!, $branch: String, $on: Date) { recordAgent(code: $code, branch: $branch, departedOn: $on) {
      __typename ... on Agent { code branch departedOn } ... on ErrorResult { errorCode message } } }`;
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const refused = await gql(hub.url, app, record, { code: 'AG009', branch: 'HZ01', on: day(-1) });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const r = await gql(hub.url, steward, record, { code: 'AG009', branch: 'HZ01', on: day(-1) });
    expect(r.data.recordAgent).toEqual({ __typename: 'Agent', code: 'AG009', branch: 'HZ01', departedOn: day(-1) });
    const orphaned = await eventually(async () => {
      const list = await gql(
        hub.url,
        app,
        `{ followUps(type: ORPHANED_POLICY, branch: "HZ01") { edges { node { policyNo dueDate agentCode branch responsible status } } } }`,
      );
      if (list.errors) throw new Error(JSON.stringify(list.errors));
      return list.data?.followUps.edges.length ? list.data.followUps.edges : undefined;
    }, 20_000);
    expect(orphaned.map((e: any) => e.node)).toEqual([
      {
        policyNo: 'PD000001',
        dueDate: day(29),
        agentCode: 'AG009',
        branch: 'HZ01',
        responsible: 'HZ01',
        status: 'OPEN',
      },
    ]);
    const d = await eventually(async () => {
      const v = (await customer('CD000001')).value;
      return v?.orphanedPolicies === 1 ? v : undefined;
    }, 20_000);
    expect(d.segments).toContain('ORPHANED');
  }, 60_000);

  it('creates nothing twice when messages are replayed or duplicated', async () => {
    const before = await sql<{ n: number; keys: string[] }>(
      `select count(*)::int as n, array_agg(dedup_key order by dedup_key) as keys from follow_up`,
    );
    const values = await sql(
      `select party_id, annualised_premium, lifecycle, segments from customer_value order by party_id`,
    );
    // The same events again (the producer retried; the source re-sent), on new offsets.
    await send([
      coreEvent('policy', 'r', policy('PD000001', { OCCDATE: yyyymmdd(day(-40)), AGNTNUM: 'AG009' })),
      holder('PD000001', 'CD000001'),
      coreEvent(
        'policy',
        'u',
        policy('PA000001', { STATCODE: 'LA', PTDATE: yyyymmdd(day(-70)), DTEUPD: dteupd(new Date().toISOString()) }),
      ),
      claim('PAID', '500.00', 1),
      claim('PAID', '500.00', 1),
      payment('PAY-A-1', '1000.00', at(-9)),
      call('CALL-L2', { subtype: 'LAPSED_POLICY', policyNo: 'PA000001', outcome: 'REACHED' }),
    ]);
    expect(
      await sql(`select count(*)::int as n, array_agg(dedup_key order by dedup_key) as keys from follow_up`),
    ).toEqual(before);
    expect(before[0]?.n).toBe(7);
    expect(
      await sql(`select party_id, annualised_premium, lifecycle, segments from customer_value order by party_id`),
    ).toEqual(values);
  }, 60_000);

  it('shows complaints with age and reopen count, duplicates counted once', async () => {
    const complaint = (status: string, daysAgo: number) => ({
      topic: 'contact.interactions.v1',
      key: 'CMP-1',
      value: JSON.stringify({
        interactionId: 'CMP-1',
        type: 'COMPLAINT',
        subtype: null,
        at: new Date(Date.now() - daysAgo * DAY).toISOString(),
        callerNumber: null,
        clientNo: 'CB000001',
        policyNo: 'PB000001',
        agentId: 'CC002',
        summary: '理赔太慢, 客户电话13900002222',
        outcome: null,
        satisfaction: null,
        complaint: { category: 'SERVICE', status },
      }),
    });
    // Opened 20 days ago, resolved, reopened, resolved, reopened again — and the whole stream delivered twice.
    const history = [
      complaint('OPEN', 20),
      complaint('RESOLVED', 15),
      complaint('REOPENED', 10),
      complaint('RESOLVED', 8),
      complaint('REOPENED', 3),
    ];
    await send([...history.slice(0, 2)]);
    await send([...history.slice(2), ...history]);
    const b = await customer('CB000001');
    expect(b.complaints).toEqual([
      { interactionId: 'CMP-1', status: 'REOPENED', reopenCount: 2, ageDays: 20, overdue: true },
    ]);
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const list = await gql(
      hub.url,
      app,
      `{ complaints(overdueOnly: true) { edges { node { interactionId status reopenCount ageDays overdue category summary customer { displayName } } } } }`,
    );
    expect(list.errors).toBeUndefined();
    expect(list.data.complaints.edges.map((e: any) => e.node)).toEqual([
      {
        interactionId: 'CMP-1',
        status: 'REOPENED',
        reopenCount: 2,
        ageDays: 20,
        overdue: true,
        category: 'SERVICE',
        summary: expect.not.stringContaining('13900002222'),
        customer: { displayName: '李华' },
      },
    ]);
  }, 60_000);

  it('lists birthdays and policy anniversaries of the next days', async () => {
    await send([
      coreEvent(
        'policy',
        'r',
        policy('PC000001', { OCCDATE: yyyymmdd(`${Number(day(2).slice(0, 4)) - 3}${day(2).slice(4)}`) }),
      ),
      holder('PC000001', 'CC000001'),
    ]);
    const app = await tokenFor(hub, 'CHANNEL_APP');
    const r = await gql(
      hub.url,
      app,
      `{ careDates(days: 7) { edges { node { kind date years policy { policyNo } customer { displayName birthDate } } } } }`,
    );
    expect(r.errors).toBeUndefined();
    const dates = r.data.careDates.edges.map((e: any) => e.node);
    expect(dates).toContainEqual({
      kind: 'POLICY_ANNIVERSARY',
      date: day(2),
      years: 3,
      policy: { policyNo: 'PC000001' },
      customer: { displayName: '李强', birthDate: null },
    });
    expect(dates).toContainEqual({
      kind: 'BIRTHDAY',
      date: birthdayC,
      years: null,
      policy: null,
      customer: { displayName: '李强', birthDate: null },
    });
  }, 60_000);

  it('recomputes everyone as a job with progress when a segment definition changes', async () => {
    const update = `mutation($code: String!, $params: JSONObject, $enabled: Boolean) { updateProgrammeRule(code: $code, params: $params, enabled: $enabled) {
      __typename ... on ProgrammeRuleChange { rule { code version updatedBy } job { id status total done kind } }
      ... on ErrorResult { errorCode message } } }`;
    const underwriter = await tokenFor(hub, 'UNDERWRITER');
    const refused = await gql(hub.url, underwriter, update, { code: 'VIP', params: { purpose: 'SERVICE', when: [] } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const invalid = await gql(hub.url, steward, update, {
      code: 'VIP',
      params: { purpose: 'SERVICE', when: [{ metric: 'shoeSize', op: 'gte', value: 1 }] },
    });
    expect(invalid.data.updateProgrammeRule).toMatchObject({
      __typename: 'ValidationError',
      errorCode: 'BAD_USER_INPUT',
    });

    const versionBefore = (await customer('CD000001')).value.configVersion;
    // VIP now: annualised premium of at least 10,000 (B, C, D, E and F hold 12,000 a year in force; A's lapsed).
    const changed = await gql(hub.url, await tokenFor(hub, 'RISK_ADMIN'), update, {
      code: 'VIP',
      params: { purpose: 'SERVICE', when: [{ metric: 'annualisedPremium', op: 'gte', value: 10000 }] },
    });
    expect(changed.errors).toBeUndefined();
    const { rule, job } = changed.data.updateProgrammeRule;
    expect(rule).toEqual({ code: 'VIP', version: 2, updatedBy: 'test-risk_admin' });
    expect(job).toMatchObject({ kind: 'RECOMPUTE', total: 6 });
    const finished = await eventually(async () => {
      const r = await gql(
        hub.url,
        steward,
        `query($id: ID!) { programmeJob(id: $id) { status done total progress configVersion finishedAt } }`,
        { id: job.id },
      );
      return r.data?.programmeJob.status === 'DONE' ? r.data.programmeJob : undefined;
    }, 30_000);
    expect(finished).toMatchObject({
      status: 'DONE',
      done: 6,
      total: 6,
      progress: 1,
      configVersion: versionBefore + 1,
    });
    const vip = await gql(
      hub.url,
      steward,
      `{ customers(segment: "VIP", first: 1) { edges { cursor node { id } value { annualisedPremium configVersion } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(vip.errors).toBeUndefined();
    expect(vip.data.customers.edges).toHaveLength(1);
    expect(vip.data.customers.pageInfo.hasNextPage).toBe(true);
    const next = await gql(
      hub.url,
      steward,
      `query($after: String) { customers(segment: "VIP", first: 5, after: $after) { edges { node { id } value { annualisedPremium } } pageInfo { hasNextPage } } }`,
      { after: vip.data.customers.pageInfo.endCursor },
    );
    const ids = [vip.data.customers.edges[0].node.id, ...next.data.customers.edges.map((e: any) => e.node.id)];
    const vips = await Promise.all(['CB000001', 'CC000001', 'CD000001', 'CE000001', 'CF000001'].map(customer));
    expect(ids.sort()).toEqual(vips.map((c) => c.id).sort());
    const d = vips[2];
    expect(next.data.customers.pageInfo.hasNextPage).toBe(false);
    expect(d.value.configVersion).toBe(versionBefore + 1);
    // A lifecycle and tier filter: A is lapsed.
    const lapsed = await gql(
      hub.url,
      steward,
      `{ customers(lifecycle: LAPSED, tier: "STANDARD") { edges { node { id } } } }`,
    );
    expect(lapsed.data.customers.edges.map((e: any) => e.node.id)).toEqual([(await customer('CA000001')).id]);
    // Every version kept.
    expect(
      await sql(`select version, updated_by from programme_rule_version where code = 'VIP' order by version`),
    ).toEqual([
      { version: 1, updated_by: 'system' },
      { version: 2, updated_by: 'test-risk_admin' },
    ]);
  }, 60_000);
});
