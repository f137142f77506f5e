import type {
  AttributeVersions,
  CanonicalContactPoint,
  CanonicalIdentifier,
  FoldEntry,
  PartyAttributes,
  PartyKind,
  Sex,
} from './canonical.ts';
import { stableJson } from './stable-json.ts';

/**
 * The fold of change events (sources whose messages carry only what changed, e.g. app events): a source
 * record's attributes are, for each attribute, the value of the event with the highest source version among the
 * events that carried it. An attribute an event leaves out (absent or null) is unchanged, never erased. Because
 * each attribute keeps the maximum by (version, event id, value), folding is commutative and associative: the
 * same events give the same state in any arrival order, and a late event falls into its place.
 *
 * The unit of a value is what one event states as a whole: the name (full, family, given and its key together),
 * birth date, sex, occupation, kind, one identifier per document type, one contact point per kind.
 */
export type { AttributeVersions, FoldEntry };

export type FoldEvent = {
  attributes: PartyAttributes;
  sourceVersion: string;
  sourceTime: Date | null;
  eventId: string | null;
};

export const emptyFold = (floor: string | null = null): AttributeVersions => ({ floor, fields: {} });

type NameValue = {
  fullName: string | null;
  familyName: string | null;
  givenName: string | null;
  nameKey: string | null;
};

/** The fold key of an identifier type / contact point kind. */
export const identifierKey = (type: string) => `identifier:${type}`;
export const contactKey = (kind: string) => `contact:${kind}`;

/** The attributes one event carries, by fold key (absent and null values are not carried). */
export function carriedBy(a: PartyAttributes): Map<string, unknown> {
  const carried = new Map<string, unknown>();
  carried.set('kind', a.kind);
  if (a.fullName !== null || a.familyName !== null || a.givenName !== null)
    carried.set('name', {
      fullName: a.fullName,
      familyName: a.familyName,
      givenName: a.givenName,
      nameKey: a.nameKey,
    } satisfies NameValue);
  if (a.birthDate !== null) carried.set('birthDate', a.birthDate);
  if (a.sex !== null) carried.set('sex', a.sex);
  if (a.occupationCode !== null) carried.set('occupationCode', a.occupationCode);
  for (const i of a.identifiers) if (!carried.has(identifierKey(i.type))) carried.set(identifierKey(i.type), i);
  for (const c of a.contactPoints) if (!carried.has(contactKey(c.kind))) carried.set(contactKey(c.kind), c);
  return carried;
}

/** Total order of the values one key can hold: version, then event id, then the value (ties never depend on arrival). */
function compareEntries(a: FoldEntry, b: FoldEntry): number {
  const va = BigInt(a.version);
  const vb = BigInt(b.version);
  if (va !== vb) return va < vb ? -1 : 1;
  const ea = a.eventId ?? '';
  const eb = b.eventId ?? '';
  if (ea !== eb) return ea < eb ? -1 : 1;
  const ja = stableJson(a.value);
  const jb = stableJson(b.value);
  return ja === jb ? 0 : ja < jb ? -1 : 1;
}

/** Folds one event into a record's state; returns a new state (the given one is not changed). */
export function foldEvent(state: AttributeVersions, event: FoldEvent): AttributeVersions {
  if (state.floor !== null && BigInt(event.sourceVersion) <= BigInt(state.floor)) return state;
  const fields = { ...state.fields };
  for (const [key, value] of carriedBy(event.attributes)) {
    const entry: FoldEntry = {
      value,
      version: event.sourceVersion,
      eventId: event.eventId,
      sourceTime: event.sourceTime?.toISOString() ?? null,
    };
    const held = fields[key];
    if (held === undefined || compareEntries(entry, held) > 0) fields[key] = entry;
  }
  return { floor: state.floor, fields };
}

/** The state of a record stored whole before it was folded: its attributes as one entry set at its version. */
export function foldOfSnapshot(
  attributes: PartyAttributes,
  version: string,
  sourceTime: Date | null,
): AttributeVersions {
  return foldEvent(emptyFold(), { attributes, sourceVersion: version, sourceTime, eventId: null });
}

/** The record's attributes: each folded value (identifiers and contact points in key order, so equal folds are equal JSON). */
export function foldedAttributes(state: AttributeVersions): PartyAttributes {
  const value = <T>(key: string): T | null => (state.fields[key]?.value as T | undefined) ?? null;
  const name = value<NameValue>('name');
  const keys = Object.keys(state.fields).sort();
  return {
    kind: value<PartyKind>('kind') ?? 'PERSON',
    fullName: name?.fullName ?? null,
    familyName: name?.familyName ?? null,
    givenName: name?.givenName ?? null,
    nameKey: name?.nameKey ?? null,
    birthDate: value<string>('birthDate'),
    sex: value<Sex>('sex'),
    occupationCode: value<string>('occupationCode'),
    identifiers: keys
      .filter((k) => k.startsWith('identifier:'))
      .map((k) => value<CanonicalIdentifier>(k) as CanonicalIdentifier),
    contactPoints: keys
      .filter((k) => k.startsWith('contact:'))
      .map((k) => value<CanonicalContactPoint>(k) as CanonicalContactPoint),
  };
}

/** The event behind a folded value, as lineage names it. */
export type FoldEventRef = { eventId: string; sourceVersion: string; sourceTime: string | null };

/**
 * The event that gave a folded record's value, by fold key (`contact:MOBILE`) or golden attribute name
 * (`displayName` → the name); null for records sent whole and values held from before the record was folded.
 */
export function eventBehind(state: AttributeVersions | null | undefined, key: string): FoldEventRef | null {
  const golden = ['displayName', 'familyName', 'givenName', 'nameKey'].includes(key) ? 'name' : key;
  const entry = state?.fields[golden];
  return entry?.eventId ? { eventId: entry.eventId, sourceVersion: entry.version, sourceTime: entry.sourceTime } : null;
}
