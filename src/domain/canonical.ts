import type { ActivityDetails, ActivityKind } from './activity.ts';
/**
 * The canonical change model: what every connector's mapping produces and the sync step consumes. Connectors
 * never touch the database; they turn one source message into zero or more of these changes, already
 * normalised (src/domain/normalize), so that matching and survivorship see the same shapes whatever the source.
 */
export type PartyKind = 'PERSON' | 'ORGANISATION';
export type Sex = 'M' | 'F' | 'U';
export type ContactKind = 'MOBILE' | 'LANDLINE' | 'EMAIL' | 'ADDRESS';

export type CanonicalIdentifier = {
  /** RESIDENT_ID, PASSPORT, USCC, … (src/domain/normalize/resident-id.ts names them). */
  type: string;
  value: string | null;
  raw: string | null;
  valid: boolean;
  issues: string[];
};

export type CanonicalContactPoint = {
  kind: ContactKind;
  value: string | null;
  raw: string | null;
  /** Digits-only national phone number / lower-case email: what search looks up. */
  searchKey: string | null;
  valid: boolean;
  issues: string[];
};

/** A source system's view of one customer, normalised. Everything is optional because sources are partial. */
export type PartyAttributes = {
  kind: PartyKind;
  fullName: string | null;
  familyName: string | null;
  givenName: string | null;
  /** Simplified-Chinese, spaceless, lower-case key of the name (search and matching only). */
  nameKey: string | null;
  birthDate: string | null;
  sex: Sex | null;
  occupationCode: string | null;
  identifiers: CanonicalIdentifier[];
  contactPoints: CanonicalContactPoint[];
};

/**
 * Every change carries the source's own ordering (`sourceVersion`, a monotonically increasing integer such as
 * an update timestamp in microseconds, as a decimal string): the sync step applies a change only when it is
 * newer than what it holds, so duplicates and out-of-order redeliveries change nothing.
 */
type Versioned = { system: string; sourceVersion: string; sourceTime: Date | null };

/** One attribute of a folded source record: its value and the event that gave it (src/domain/event-fold.ts). */
export type FoldEntry = {
  value: unknown;
  /** The source version of the event that gave the value (decimal string). */
  version: string;
  /** The source's event id, or null for values held before the record was folded (a stored snapshot). */
  eventId: string | null;
  /** The event's source time (ISO), when the source gives one. */
  sourceTime: string | null;
};

/**
 * The per-attribute state of a folded source record (`source_record.attribute_versions`), by fold key
 * (`name`, `birthDate`, `identifier:RESIDENT_ID`, `contact:MOBILE`, …). `floor` is the version of the record's
 * last delete: events at or below it belong to the deleted record and fold into nothing.
 */
export type AttributeVersions = { floor: string | null; fields: Record<string, FoldEntry> };

/**
 * How a party change relates to the record it changes. Set by ingest from the connector's manifest
 * (`messages: 'changes'`) and by the sync step; a connector only sets `eventId`.
 */
type Folding = {
  /**
   * 'changes': the message carries only what changed (an app event): an attribute it leaves out (absent or
   * null) is unchanged, and the record's attributes are the fold of its events (src/domain/event-fold.ts).
   * Absent: the message carries the whole record, which replaces what was held.
   */
  carries?: 'changes';
  /** The sync step's fold of the record after this change: then `attributes` is the folded state, not the event. */
  fold?: AttributeVersions;
};

export type PartyUpsert = Versioned &
  Folding & {
    entity: 'party';
    op: 'upsert';
    sourceId: string;
    raw: Record<string, unknown>;
    attributes: PartyAttributes;
    /** The source's id of the event this change came from, where it has one: named in lineage for folded values. */
    eventId?: string | null;
  };
export type PartyDelete = Versioned & Folding & { entity: 'party'; op: 'delete'; sourceId: string };

export type PolicyData = {
  productCode: string | null;
  status: string | null;
  commencementDate: string | null;
  paidToDate: string | null;
  sumInsured: string | null;
  premium: string | null;
  billingFrequency: string | null;
  channel: string | null;
  agentCode: string | null;
};
export type PolicyUpsert = Versioned & { entity: 'policy'; op: 'upsert'; policyNo: string; data: PolicyData };
export type PolicyDelete = Versioned & { entity: 'policy'; op: 'delete'; policyNo: string };

export type CoverData = {
  productCode: string | null;
  sumInsured: string | null;
  premium: string | null;
  status: string | null;
};
export type CoverKey = { policyNo: string; coverage: string; rider: string };
export type CoverUpsert = Versioned & { entity: 'policyCover'; op: 'upsert'; key: CoverKey; data: CoverData };
export type CoverDelete = Versioned & { entity: 'policyCover'; op: 'delete'; key: CoverKey };

export type PolicyRoleType = 'POLICYHOLDER' | 'INSURED' | 'BENEFICIARY' | 'PAYER';
export type RoleKey = { policyNo: string; clientSourceId: string; role: PolicyRoleType };
/** The role holder's relation to the insured, where the source gives one (beneficiaries, policyholders). */
export type RelationCode = 'SELF' | 'SPOUSE' | 'CHILD' | 'PARENT' | 'OTHER';
export type RoleData = {
  beneficiaryOrder: number | null;
  sharePercent: string | null;
  current: boolean;
  relationCode: RelationCode | null;
};
export type RoleUpsert = Versioned & { entity: 'policyRole'; op: 'upsert'; key: RoleKey; data: RoleData };
export type RoleDelete = Versioned & { entity: 'policyRole'; op: 'delete'; key: RoleKey };

/**
 * Facts about a customer (payments, claims, interactions, …), keyed by the source's natural key. The customer
 * is referenced by the source record that identifies them — `party` (system + source id), usually emitted
 * as a PartyUpsert in the same message — or, for calls, by the caller's phone key.
 */
export type ActivityData<K extends ActivityKind = ActivityKind> = {
  party: { system: string; sourceId: string } | null;
  callerPhoneKey: string | null;
  policyNo: string | null;
  occurredAt: Date | null;
  type: string | null;
  status: string | null;
  amount: string | null;
  details: ActivityDetails[K];
};
/** One upsert type per kind, so a connector's details are checked against its kind's. */
export type ActivityUpsert = {
  [K in ActivityKind]: Versioned & {
    entity: 'activity';
    op: 'upsert';
    kind: K;
    sourceKey: string;
    data: ActivityData<K>;
  };
}[ActivityKind];
export type { ActivityKind };
export type ActivityDelete = Versioned & { entity: 'activity'; op: 'delete'; kind: ActivityKind; sourceKey: string };

export type CanonicalChange =
  | ActivityUpsert
  | ActivityDelete
  | PartyUpsert
  | PartyDelete
  | PolicyUpsert
  | PolicyDelete
  | CoverUpsert
  | CoverDelete
  | RoleUpsert
  | RoleDelete;
