import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { gql } from '../support/graphql.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The consent registry on a real broker: a core-policy customer registers in the app (the app user links to
 * them by mobile and name) and changes consents — one answer arrives late and one twice. The 360 shows the
 * current consent per purpose and channel with its history and events; `mayContact` says yes only on a current
 * grant, with the reason, and no for a withdrawal and for what was never asked.
 */
const mobile = '13722220001';
const consent = (eventId: string, at: string, purpose: string, channel: string, granted: boolean) => ({
  topic: 'app.customer-events.v1',
  key: 'CU1',
  value: JSON.stringify({
    eventId,
    type: 'CONSENT_CHANGED',
    at,
    userId: 'CU1',
    consent: { purpose, channel, granted },
  }),
});
const messages = [
  coreEvent('client', 'c', {
    CLNTNUM: 'K0000001',
    CLTTYPE: 'P',
    SURNAME: '冯',
    GIVNAME: '晓梅',
    CLTSEX: 'F',
    CLTDOB: 19870212,
    IDTYPE: '01',
    IDNO: residentId('320102', '19870212', '042'),
    MOBILE: mobile,
    PHONE: null,
    EMAIL: null,
    ADDR1: null,
    ADDR2: null,
    ADDR3: null,
    POSTCODE: null,
    OCCPCODE: null,
    DTEUPD: dteupd('2026-11-01T00:00:00Z'),
  }),
  {
    topic: 'app.customer-events.v1',
    key: 'CU1',
    value: JSON.stringify({
      eventId: 'CE-REG',
      type: 'REGISTERED',
      at: '2026-11-02T09:00:00+08:00',
      userId: 'CU1',
      mobile,
      email: null,
      name: '冯晓梅',
      idNumber: null,
    }),
  },
  consent('CE-1', '2026-11-02T09:01:00+08:00', 'MARKETING', 'SMS', true),
  // the withdrawal arrives after the later re-grant, and the re-grant twice
  consent('CE-3', '2026-11-04T10:00:00+08:00', 'MARKETING', 'SMS', true),
  consent('CE-2', '2026-11-03T10:00:00+08:00', 'MARKETING', 'SMS', false),
  consent('CE-3', '2026-11-04T10:00:00+08:00', 'MARKETING', 'SMS', true),
  consent('CE-4', '2026-11-02T09:02:00+08:00', 'MARKETING', 'EMAIL', false),
  consent('CE-5', '2026-11-02T09:03:00+08:00', 'ANALYTICS', 'APP_PUSH', true),
];

describe('consent registry', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  const prefix = `cn${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    const brokers = await kafkaBrokers();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test-producer'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({ DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix });
    await publishAndWait(brokers, prefix, db.url, messages);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('shows current consents with history and answers mayContact with the reason', async () => {
    const res = await gql(
      hub.url,
      await tokenFor(hub, 'CHANNEL_APP'),
      `{ customerBySource(system: "core-policy", sourceId: "K0000001") {
          sourceRecords { system sourceId }
          consents { purpose channel status granted since source { system sourceId event { eventId } }
                     history { status at source { event { eventId } } } }
          sms: mayContact(purpose: MARKETING, channel: SMS) { allowed status reason since source { event { eventId } } }
          email: mayContact(purpose: MARKETING, channel: EMAIL) { allowed status reason }
          phone: mayContact(purpose: MARKETING, channel: PHONE) { allowed status reason since source { system } }
          push: mayContact(purpose: ANALYTICS, channel: APP_PUSH) { allowed status }
        } }`,
    );
    expect(res.errors).toBeUndefined();
    const c = res.data.customerBySource;
    // the app user is linked to the core-policy customer: their consents are the customer's
    expect(c.sourceRecords.map((r: any) => r.system).sort()).toEqual(['core-policy', 'web-app']);
    const sms = c.consents.find((s: any) => s.purpose === 'MARKETING' && s.channel === 'SMS');
    expect(sms).toMatchObject({
      status: 'GRANTED',
      granted: true,
      since: '2026-11-04T02:00:00.000Z',
      source: { system: 'web-app', sourceId: 'CU1', event: { eventId: 'CE-3' } },
    });
    // every change once, newest first, whatever the order of arrival and redeliveries
    expect(sms.history.map((h: any) => [h.status, h.source.event.eventId])).toEqual([
      ['GRANTED', 'CE-3'],
      ['WITHDRAWN', 'CE-2'],
      ['GRANTED', 'CE-1'],
    ]);
    expect(c.consents.map((s: any) => `${s.purpose}/${s.channel}/${s.status}`).sort()).toEqual([
      'ANALYTICS/APP_PUSH/GRANTED',
      'MARKETING/EMAIL/WITHDRAWN',
      'MARKETING/SMS/GRANTED',
    ]);
    expect(c.sms).toEqual({
      allowed: true,
      status: 'GRANTED',
      reason: 'MARKETING by SMS granted at 2026-11-04T02:00:00.000Z (web-app event)',
      since: '2026-11-04T02:00:00.000Z',
      source: { event: { eventId: 'CE-3' } },
    });
    expect(c.email).toEqual({
      allowed: false,
      status: 'WITHDRAWN',
      reason: 'MARKETING by EMAIL withdrawn at 2026-11-02T01:02:00.000Z (web-app event)',
    });
    expect(c.phone).toEqual({
      allowed: false,
      status: 'NEVER_ASKED',
      reason: 'MARKETING by PHONE was never asked: no consent, no contact',
      since: null,
      source: null,
    });
    expect(c.push).toEqual({ allowed: true, status: 'GRANTED' });
  });
});
