import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { AttributeVersions, PartyAttributes } from '../domain/canonical.ts';

export type MatchExplanation = {
  decision: string;
  probability: number | null;
  candidatePartyId: string | null;
  comparisons: { comparison: string; level: string; weight: number }[];
  note: string;
};

/**
 * A source system's copy of a customer (the crosswalk row): kept whole (raw payload) and normalised
 * (attributes), with how and when it was linked to its golden party. Deletes only set `deleted`, so a late
 * stale update cannot resurrect a record and lineage stays explainable.
 */
export const SourceRecord = defineEntity({
  name: 'SourceRecord',
  tableName: 'source_record',
  properties: {
    id: p.uuid().primary(),
    system: p.text(),
    sourceId: p.text(),
    partyId: p.uuid().nullable(),
    linkType: p.enum(['EXACT_ID', 'PROBABILISTIC', 'NEW', 'MANUAL', 'UNLINKED'] as const).default('UNLINKED'),
    linkScore: p.double().nullable(),
    linkedAt: p.datetime().nullable(),
    /** Why the record is linked where it is: the decision, its probability and each comparison's weight. */
    matchExplanation: p.json<MatchExplanation>().nullable(),
    raw: p.json<Record<string, unknown>>().nullable(),
    attributes: p.json<PartyAttributes>().nullable(),
    /** Sources that send changes only: each attribute's value and the event that gave it (the fold behind `attributes`). */
    attributeVersions: p.json<AttributeVersions>().nullable(),
    sourceTime: p.datetime().nullable(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type SourceRecord = InferEntity<typeof SourceRecord>;
