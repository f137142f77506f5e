import type { FoldEventRef } from '../domain/event-fold.ts';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The golden customer: one row per real person or organisation. Its attributes are derived from the linked
 * source records by survivorship (src/sync/survivorship.ts); `lineage` says which source record supplied each
 * attribute. A merged-away golden record keeps its row with `mergedIntoId` set so old ids still resolve.
 */
export const Party = defineEntity({
  name: 'Party',
  tableName: 'party',
  properties: {
    id: p.uuid().primary(),
    kind: p.enum(['PERSON', 'ORGANISATION'] as const),
    status: p.enum(['ACTIVE', 'INACTIVE', 'MERGED', 'ERASED'] as const).default('ACTIVE'),
    displayName: p.text().nullable(),
    /** Simplified-Chinese, spaceless, lower-case name used for search and matching. */
    nameKey: p.text().nullable(),
    familyName: p.text().nullable(),
    givenName: p.text().nullable(),
    birthDate: p.date().nullable(),
    sex: p.enum(['M', 'F', 'U'] as const).nullable(),
    occupationCode: p.text().nullable(),
    lineage: p.json<Record<string, AttributeLineage>>().default('{}' as never),
    mergedIntoId: p.uuid().nullable(),
    version: p.integer().default(1),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Party = InferEntity<typeof Party>;

export type AttributeLineage = {
  sourceRecordId: string;
  system: string;
  sourceId: string;
  sourceTime: string | null;
  /** For a source that sends changes only: the event that gave the value (src/domain/event-fold.ts). */
  event?: FoldEventRef;
};

/** Identifiers of a golden party, one row per (party, source record, identifier) so lineage is explicit. */
export const PartyIdentifier = defineEntity({
  name: 'PartyIdentifier',
  tableName: 'party_identifier',
  properties: {
    id: p.uuid().primary(),
    partyId: p.uuid(),
    sourceRecordId: p.uuid(),
    type: p.text(),
    value: p.text().nullable(),
    raw: p.text().nullable(),
    valid: p.boolean(),
    issues: p.json<string[]>(),
  },
});
export type PartyIdentifier = InferEntity<typeof PartyIdentifier>;

/** Phones, emails and addresses: the golden record keeps the union of all sources, each with its origin. */
export const ContactPoint = defineEntity({
  name: 'ContactPoint',
  tableName: 'contact_point',
  properties: {
    id: p.uuid().primary(),
    partyId: p.uuid(),
    sourceRecordId: p.uuid(),
    kind: p.enum(['MOBILE', 'LANDLINE', 'EMAIL', 'ADDRESS'] as const),
    value: p.text().nullable(),
    raw: p.text().nullable(),
    /** Digits-only phone / lower-case email used for exact search. */
    searchKey: p.text().nullable(),
    valid: p.boolean(),
    issues: p.json<string[]>(),
    validFrom: p.datetime().nullable(),
    validTo: p.datetime().nullable(),
  },
});
export type ContactPoint = InferEntity<typeof ContactPoint>;
