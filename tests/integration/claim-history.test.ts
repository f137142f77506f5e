import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { type BatchInputMessage, ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import { ingestDepsFor, type RunningHub } from '../../src/runtime/hub.ts';
import { setAlertHolds } from '../support/alert-rules.ts';
import { eventually } from '../support/graphql.ts';
import { startTestHub } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * A claim burst fourteen months old — six claims within three months — loaded as history (a file or demo load,
 * the batch path) and streamed live through the broker gives the same alert: windows are anchored on the
 * claims' incident dates, not counted back from the wall clock (which found nothing once the burst was more
 * than a window old). A customer whose claims are further apart than the window raises nothing either way.
 */
const DAY = 86_400_000;
const now = Date.now();
const dayNo = (daysAgo: number) => Math.floor((now - daysAgo * DAY) / DAY);

function claim(who: { id: string; name: string }, n: number, incidentDaysAgo: number): BatchInputMessage {
  const row = {
    claim_id: `H${who.id.slice(-4)}-${n}`,
    claim_no: `CLM-H${n}`,
    policy_no: `HP${who.id.slice(-4)}`,
    claimant_name: who.name,
    claimant_id_type: '01',
    claimant_id_no: who.id,
    claimant_phone: null,
    incident_date: dayNo(incidentDaysAgo),
    reported_at: (now - (incidentDaysAgo - 5) * DAY) * 1000,
    cause_code: 'HOS',
    claimed_amount: '2000.00',
    paid_amount: '1800.00',
    status: 'PAID',
    payee_bank_account: null,
    updated_at: (now - (incidentDaysAgo - 6) * DAY) * 1000,
  };
  return {
    topic: 'claims.public.claim',
    key: JSON.stringify({ claim_id: row.claim_id }),
    value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }),
  };
}
const bursty = { id: residentId('330106', '19800808', '231'), name: '周强' };
const spread = { id: residentId('330106', '19810909', '242'), name: '郑丽' };
const stream = [
  ...[430, 420, 410, 400, 395, 390].map((d, i) => claim(bursty, i, d)),
  ...[1000, 600, 200].map((d, i) => claim(spread, i, d)),
];

async function alertsOf(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (
      await c.query(
        `select a.rule_code, a.status, a.evidence, (select count(*) from source_record sr where sr.party_id = a.party_id and sr.source_id like '%' || $1) as bursty
           from alert a where a.rule_code in ('CLAIMS_IN_WINDOW', 'CUMULATIVE_PAID') order by a.rule_code`,
        [bursty.id],
      )
    ).rows;
  } finally {
    await c.end();
  }
}

describe('claim windows on history and live', () => {
  let history: TestDatabase;
  let live: TestDatabase;
  let historyHub: RunningHub;
  let liveHub: RunningHub;
  let brokers: string[];
  const prefix = `ch${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    [history, live] = await Promise.all([createTestDatabase('hub_hist'), createTestDatabase('hub_live')]);
    await ensureTopics(createKafka(brokers, 'test'), [`${prefix}claims.public.claim`]);
    historyHub = await startTestHub({ DATABASE_URL: history.url });
    liveHub = await startTestHub({
      DATABASE_URL: live.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
    });
    await Promise.all([setAlertHolds(history.url, 0), setAlertHolds(live.url, 0)]);
  });
  afterAll(async () => {
    await historyHub?.stop();
    await liveHub?.stop();
    await history?.drop();
    await live?.drop();
  });

  it('raises the same alert for a fourteen-month-old burst loaded as history as when streamed live', async () => {
    await ingestBatch(historyHub.orm, new TopicRouter(connectors), 'history', stream, ingestDepsFor());
    await publishAndWait(brokers, prefix, live.url, stream);
    const fromHistory = await alertsOf(history.url);
    const fromLive = await eventually(
      async () => {
        const rows = await alertsOf(live.url);
        return rows.length >= fromHistory.length && fromHistory.length > 0 ? rows : undefined;
      },
      30_000,
      'the live hub to raise its alerts',
    );
    expect(fromHistory.map((a) => a.rule_code)).toEqual(['CLAIMS_IN_WINDOW']);
    expect(fromHistory[0]).toMatchObject({ status: 'OPEN', bursty: '1' });
    expect(fromHistory[0].evidence.claims).toHaveLength(6);
    expect(fromLive.map((a) => [a.rule_code, a.status, a.evidence])).toEqual(
      fromHistory.map((a) => [a.rule_code, a.status, a.evidence]),
    );
  });
});
