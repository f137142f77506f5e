import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { MatchExplanation } from './source-record.entity.ts';

/** Every change of a golden record, with its cause and the golden values after it. */
export const PartyHistory = defineEntity({
  name: 'PartyHistory',
  tableName: 'party_history',
  properties: {
    id: p.uuid().primary(),
    partyId: p.uuid(),
    version: p.integer(),
    cause: p.enum([
      'CREATED',
      'SOURCE_CHANGE',
      'MATCH',
      'MERGE',
      'MERGED_INTO',
      'UNMERGE',
      'STEWARD_ACTION',
      'DEACTIVATED',
      'ERASED',
    ] as const),
    detail: p.json<Record<string, unknown>>(),
    snapshot: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type PartyHistory = InferEntity<typeof PartyHistory>;

/** A possible match waiting for a data steward. */
export const ReviewTask = defineEntity({
  name: 'ReviewTask',
  tableName: 'review_task',
  properties: {
    id: p.uuid().primary(),
    sourceRecordId: p.uuid(),
    candidatePartyId: p.uuid(),
    probability: p.double(),
    explanation: p.json<MatchExplanation>(),
    status: p.enum(['OPEN', 'CONFIRMED', 'REJECTED', 'OBSOLETE'] as const).default('OPEN'),
    decidedBy: p.text().nullable(),
    decidedAt: p.datetime().nullable(),
    reason: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type ReviewTask = InferEntity<typeof ReviewTask>;
