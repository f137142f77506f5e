import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createKafka, ensureTopics } from '../../src/messaging/kafka.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';
import { kafkaBrokers, publishAndWait } from '../support/kafka.ts';
import { startStandInRegistry, type StandInRegistry } from '../support/schema-registry.ts';

/**
 * A connector switched to the schema-registry wire format (AVRO_CONNECTORS=billing): payment events encoded as
 * Avro by a producer that registered their schema, published to the real broker, decoded by the hub (schema
 * fetched by id) and mapped by the unchanged billing mapping; messages that are not the wire format or name an
 * unknown schema are quarantined with the reason while the rest is applied.
 */
const paymentSchema = {
  type: 'record',
  name: 'PaymentEvent',
  namespace: 'billing.payments.v1',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'eventType', type: 'string' },
    { name: 'occurredAt', type: 'string' },
    { name: 'paymentId', type: 'string' },
    { name: 'policyNo', type: ['null', 'string'], default: null },
    {
      name: 'payer',
      type: {
        type: 'record',
        name: 'Payer',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'idType', type: 'string' },
          { name: 'idNumber', type: 'string' },
          { name: 'mobile', type: ['null', 'string'], default: null },
        ],
      },
    },
    { name: 'amount', type: 'string' },
    { name: 'currency', type: 'string' },
    { name: 'method', type: 'string' },
    {
      name: 'bankAccount',
      type: [
        'null',
        {
          type: 'record',
          name: 'BankAccount',
          fields: [
            { name: 'bankCode', type: 'string' },
            { name: 'accountNo', type: 'string' },
          ],
        },
      ],
      default: null,
    },
    { name: 'status', type: 'string' },
    { name: 'failureReason', type: ['null', 'string'], default: null },
  ],
};
const payer = { name: '赵敏', idType: '01', idNumber: '11010519900101002X', mobile: '13700137000' };
const payment = (id: string, amount: string) => ({
  eventId: `EV-${id}`,
  eventType: 'PREMIUM_PAID',
  occurredAt: '2026-11-01T09:30:00+08:00',
  paymentId: id,
  policyNo: 'PAVRO001',
  payer,
  amount,
  currency: 'CNY',
  method: 'BANK_DEBIT',
  bankAccount: { bankCode: 'ICBC', accountNo: '6222021234567000001' },
  status: 'SUCCESS',
  failureReason: null,
});

describe('schema-registry wire format (Avro) per connector', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let registry: StandInRegistry;
  let brokers: string[];
  const prefix = `avro${randomBytes(3).toString('hex')}.`;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    registry = await startStandInRegistry();
    db = await createTestDatabase();
    await ensureTopics(createKafka(brokers, 'test'), new TopicRouter(connectors, prefix).streamTopics);
    hub = await startTestHub({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      AVRO_CONNECTORS: 'billing',
      SCHEMA_REGISTRY_URL: registry.url,
    });
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
    await registry?.stop();
  });

  it('decodes Avro payments into the billing mapping and quarantines what does not decode', async () => {
    const producerSide = new SchemaRegistry({ host: registry.url });
    const { id } = await producerSide.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(paymentSchema) },
      { subject: 'billing.payments.v1-value' },
    );
    const unknownSchema = Buffer.concat([Buffer.from([0, 0, 0, 3, 231]), Buffer.from('garbage')]);
    await publishAndWait(brokers, prefix, db.url, [
      {
        topic: 'billing.payments.v1',
        key: 'PAY-AVRO-1',
        value: await producerSide.encode(id, payment('PAY-AVRO-1', '1200.00')),
      },
      { topic: 'billing.payments.v1', key: 'PAY-AVRO-2', value: JSON.stringify(payment('PAY-AVRO-2', '1300.00')) }, // JSON on an Avro topic
      { topic: 'billing.payments.v1', key: 'PAY-AVRO-3', value: unknownSchema },
      {
        topic: 'billing.payments.v1',
        key: 'PAY-AVRO-4',
        value: await producerSide.encode(id, payment('PAY-AVRO-4', '1400.00')),
      },
    ]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const payments = await c.query(
        `select source_key, amount::text, party_source_id from activity where kind = 'PAYMENT' order by source_key`,
      );
      expect(payments.rows).toEqual([
        { source_key: 'PAY-AVRO-1', amount: '1200.00', party_source_id: expect.stringContaining('11010519900101002X') },
        { source_key: 'PAY-AVRO-4', amount: '1400.00', party_source_id: expect.stringContaining('11010519900101002X') },
      ]);
      const customers = await c.query(
        `select p.display_name from party p join source_record sr on sr.party_id = p.id where sr.system = 'billing'`,
      );
      expect(customers.rows).toEqual([{ display_name: '赵敏' }]);
      const quarantined = await c.query(
        `select message_key, error_code, reason from quarantined_event order by message_key`,
      );
      expect(quarantined.rows.map((r) => [r.message_key, r.error_code])).toEqual([
        ['PAY-AVRO-2', 'UNDECODABLE'],
        ['PAY-AVRO-3', 'UNDECODABLE'],
      ]);
      expect(quarantined.rows[0].reason).toMatch(/not the schema-registry wire format/);
      expect(quarantined.rows[1].reason).toMatch(/could not be decoded/);
    } finally {
      await c.end();
    }
  });
});
