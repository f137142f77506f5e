import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Consumed Kafka positions, written in the same transaction as the effects of the messages (exactly-once
 * effect): on redelivery, messages below `nextOffset` are skipped.
 */
export const ConsumerOffset = defineEntity({
  name: 'ConsumerOffset',
  tableName: 'consumer_offset',
  properties: {
    consumerGroup: p.text().primary(),
    topic: p.text().primary(),
    partition: p.integer().primary(),
    nextOffset: p.bigint('string'),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type ConsumerOffset = InferEntity<typeof ConsumerOffset>;

/** Messages that could not be applied, kept whole with where they came from and why. */
export const QuarantinedEvent = defineEntity({
  name: 'QuarantinedEvent',
  tableName: 'quarantined_event',
  properties: {
    id: p.uuid().primary(),
    connector: p.text(),
    topic: p.text(),
    partition: p.integer(),
    offset: p.bigint('string'),
    messageKey: p.text().nullable(),
    messageValue: p.text().nullable(),
    errorCode: p.text(),
    reason: p.text(),
    receivedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type QuarantinedEvent = InferEntity<typeof QuarantinedEvent>;
