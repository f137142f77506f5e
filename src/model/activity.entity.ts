import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A customer's payment, claim, interaction, lead, consent, registration or bank sale, keyed by source key. */
export const Activity = defineEntity({
  name: 'Activity',
  tableName: 'activity',
  properties: {
    id: p.uuid().primary(),
    kind: p.enum(['PAYMENT', 'CLAIM', 'INTERACTION', 'LEAD', 'CONSENT', 'REGISTRATION', 'BANK_SALE'] as const),
    system: p.text(),
    sourceKey: p.text(),
    partySystem: p.text().nullable(),
    partySourceId: p.text().nullable(),
    callerPhoneKey: p.text().nullable(),
    policyNo: p.text().nullable(),
    occurredAt: p.datetime().nullable(),
    type: p.text().nullable(),
    status: p.text().nullable(),
    amount: p.decimal('string').nullable(),
    data: p.json<Record<string, unknown>>(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
    updatedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Activity = InferEntity<typeof Activity>;
