import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { BatchInputMessage } from '../../src/ingest/batch-source.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { ingestDepsFor } from '../../src/runtime/hub.ts';
import { eventually, gql } from '../support/graphql.ts';

/**
 * Alert holds (params.holdSeconds, src/risk/alerts.ts): a loss ratio computed while the claim has arrived and
 * most of the premiums have not is not an alert. Over the real broker and the running hub's risk worker:
 *   - A's claim arrives with one premium (ratio 5), the rest of A's premiums within the hold (ratio 1.7): no
 *     alert is ever opened for A, nothing is published;
 *   - B's claim arrives with one premium and nothing more: B's alert opens when the hold ends, with no further
 *     event — the worker's re-evaluation was queued for then — and is published once.
 * The hold is set through GraphQL by a risk admin, as an insurer would; a bad hold is a typed validation error.
 */
const DAY = 86_400_000;
const HOLD_SECONDS = 8;
const people = {
  A: { name: '钱伟', id: residentId('320102', '19810303', '113') },
  B: { name: '孙丽', id: residentId('320102', '19820404', '224') },
} as const;
type Who = keyof typeof people;

const premium = (who: Who, n: number): BatchInputMessage => ({
  topic: 'billing.payments.v1',
  key: `HP${who}${n}`,
  value: JSON.stringify({
    eventId: `HPE${who}${n}`,
    eventType: 'PREMIUM_PAID',
    occurredAt: new Date(Date.now() - (60 + n) * DAY).toISOString(),
    paymentId: `HP${who}${n}`,
    policyNo: `HPOL${who}`,
    payer: { name: people[who].name, idType: '01', idNumber: people[who].id, mobile: null },
    amount: '2000.00',
    currency: 'CNY',
    method: 'BANK_DEBIT',
    status: 'SUCCESS',
  }),
});
const paidClaim = (who: Who): BatchInputMessage => {
  const now = Date.now();
  const row = {
    claim_id: `HC${who}`,
    claim_no: `CLM-HC${who}`,
    policy_no: `HPOL${who}`,
    claimant_name: people[who].name,
    claimant_id_type: '01',
    claimant_id_no: people[who].id,
    claimant_phone: null,
    incident_date: Math.floor((now - 20 * DAY) / DAY),
    reported_at: (now - 18 * DAY) * 1000,
    cause_code: 'HOS',
    claimed_amount: '10000.00',
    paid_amount: '10000.00',
    status: 'PAID',
    payee_bank_account: null,
    updated_at: (now - 17 * DAY) * 1000,
  };
  return {
    topic: 'claims.public.claim',
    key: JSON.stringify({ claim_id: row.claim_id }),
    value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }),
  };
};

describe('alert hold', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let brokers: string[];
  const prefix = `hold${randomBytes(3).toString('hex')}.`;
  const apply = (m: BatchInputMessage[]) => publishAndWait(brokers, prefix, db.url, m);
  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const partyOf = async (who: Who) =>
    (
      await sql<{ party_id: string }>(`select distinct party_id from party_identifier where value = $1`, [
        people[who].id,
      ])
    ).map((r) => r.party_id);

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      RISK_ROUND_MS: '200',
    });
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('opens an alert only for a finding that held, when the hold ends, and drops one that went away', async () => {
    const admin = await tokenFor(hub, 'RISK_ADMIN');
    const setParams = (params: Record<string, unknown>) =>
      gql(
        hub.url,
        admin,
        `mutation($p: JSONObject!) { updateAlertRule(code: "LOSS_RATIO", params: $p) { __typename ... on AlertRule { params version } ... on ErrorResult { errorCode message } } }`,
        { p: params },
      );
    for (const bad of [-1, 1.5, '60', 86_401]) {
      const r = await setParams({ windowDays: 730, minRatio: 3, minPremium: 1000, holdSeconds: bad });
      expect(r.data.updateAlertRule).toMatchObject({ __typename: 'ValidationError', errorCode: 'BAD_USER_INPUT' });
      expect(r.data.updateAlertRule.message).toContain('holdSeconds');
    }
    const set = await setParams({ windowDays: 730, minRatio: 3, minPremium: 1000, holdSeconds: HOLD_SECONDS });
    expect(set.data.updateAlertRule.__typename).toBe('AlertRule');
    expect(set.data.updateAlertRule.params).toMatchObject({ holdSeconds: HOLD_SECONDS });

    // Both claims with one premium each: a loss ratio of 5, over the threshold of 3 — held, not opened.
    const started = Date.now();
    await apply([premium('A', 1), premium('B', 1), paidClaim('A'), paidClaim('B')]);
    const [a] = await partyOf('A');
    const [b] = await partyOf('B');
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    const lossRatioAlerts = () =>
      sql<{ party_id: string; status: string }>(
        `select party_id, status from alert where rule_code = 'LOSS_RATIO' order by created_at`,
      );
    const pending = await sql<{ party_id: string }>(
      `select party_id from alert_pending where rule_code = 'LOSS_RATIO' order by party_id`,
    );
    // (Only meaningful while the hold has not ended: the ingest above took well under it.)
    expect(Date.now() - started).toBeLessThan(HOLD_SECONDS * 1000);
    expect(pending.map((p) => p.party_id)).toEqual([a, b].sort());
    expect(await lossRatioAlerts()).toEqual([]);

    // A's other premiums arrive within the hold: the ratio falls to 1.67.
    await apply([premium('A', 2), premium('A', 3)]);
    expect(await sql(`select party_id from alert_pending where rule_code = 'LOSS_RATIO'`)).toEqual([{ party_id: b }]);

    // Nothing more arrives for B: its alert opens when the hold ends, seen by an underwriter in GraphQL.
    const underwriter = await tokenFor(hub, 'UNDERWRITER');
    const opened = await eventually(
      async () => {
        const r = await gql(
          hub.url,
          underwriter,
          `{ alerts(rule: "LOSS_RATIO", first: 10) { edges { node { status customer { id } evidence } } } }`,
        );
        const edges = r.data?.alerts?.edges ?? [];
        return edges.length > 0 ? edges : undefined;
      },
      60_000,
      "B's loss-ratio alert",
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_SECONDS * 1000);
    expect(opened).toHaveLength(1);
    expect(opened[0].node).toMatchObject({ status: 'OPEN', customer: { id: b } });
    expect(opened[0].node.evidence).toMatchObject({ paid: '10000.00', premiums: '2000.00', ratio: 5 });

    // A's re-evaluation falls due too and finds nothing: no alert, nothing published, nothing left queued.
    await eventually(
      async () => ((await sql(`select 1 from risk_work`)).length === 0 ? true : undefined),
      60_000,
      'the re-evaluations queued for the holds',
    );
    expect(await lossRatioAlerts()).toEqual([{ party_id: b, status: 'OPEN' }]);
    expect(await sql(`select 1 from alert_pending`)).toEqual([]);
    const published = await sql<{ event: string; customer: string }>(
      `select payload->>'event' as event, payload->>'customerId' as customer from outbox where payload->>'rule' = 'LOSS_RATIO' order by created_at`,
    );
    expect(published).toEqual([{ event: 'ALERT_OPENED', customer: b }]);
  }, 120_000);
});

describe('alert hold without a broker', () => {
  // A hub without KAFKA_BROKERS has no consumer, yet loads files and demo data and merges customers for
  // stewards: the risk worker still runs, so a held finding opens when its hold ends.
  let db: TestDatabase;
  let hub: RunningHub;
  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: undefined, RISK_ROUND_MS: '200' });
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('opens a held finding of a file load when the hold ends', async () => {
    expect(hub.liveConsumption).toBe(false);
    await setAlertHolds(db.url, 2);
    const result = await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'hold-file',
      [premium('B', 1), paidClaim('B')],
      ingestDepsFor(),
    );
    expect(result.quarantined).toBe(0);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      expect((await c.query(`select rule_code from alert_pending`)).rows).toEqual([{ rule_code: 'LOSS_RATIO' }]);
      const opened = await eventually(
        async () => {
          const { rows } = await c.query(`select rule_code, status from alert`);
          return rows.length > 0 ? rows : undefined;
        },
        30_000,
        'the held loss-ratio alert',
      );
      expect(opened).toEqual([{ rule_code: 'LOSS_RATIO', status: 'OPEN' }]);
      expect((await c.query(`select 1 from alert_pending`)).rows).toEqual([]);
    } finally {
      await c.end();
    }
  }, 60_000);
});
