import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { activityKinds, type ActivityDetails } from '../domain/activity.ts';

/** A customer's payment, claim, interaction, lead, consent, registration or bank sale, keyed by source key. */
export const Activity = defineEntity({
  name: 'Activity',
  tableName: 'activity',
  properties: {
    id: p.uuid().primary(),
    kind: p.enum(activityKinds),
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
    /** The kind's details (`ActivityDetails[kind]` in src/domain/activity.ts). */
    data: p.json<Partial<ActivityDetails[keyof ActivityDetails]>>(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
    updatedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Activity = InferEntity<typeof Activity>;
