import { stableJson } from '../domain/stable-json.ts';
import { readFileSync } from 'node:fs';
import { executeBound } from '../db/bound-sql.ts';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AttributeVersions, PartyAttributes } from '../domain/canonical.ts';
import { eventBehind } from '../domain/event-fold.ts';
import type { AttributeLineage } from '../model/party.entity.ts';
import { byColumn, chunked, marks, unnestOf } from '../db/sql-sets.ts';
import { copyRows } from '../db/copy.ts';
import { writeHistories, type HistoryCause } from './history.ts';
import { compareRecords } from './record-order.ts';

/**
 * Survivorship: the golden party's attributes are recomputed from its live source records after every change.
 * Rules are data (below), not code paths: for each attribute, the candidates are ordered by the rule's
 * criteria and the first non-empty value wins, and the winner's source record is kept as lineage.
 * Identifiers and contact points are not survived: the golden record keeps the union, one row per source.
 */
export type SurvivorCandidate = {
  sourceRecordId: string;
  system: string;
  sourceId: string;
  sourceTime: Date | null;
  attributes: PartyAttributes;
  attributeVersions?: AttributeVersions | null; // a folded record's state: lineage names each value's event
};

type GoldenAttribute =
  | 'kind'
  | 'displayName'
  | 'familyName'
  | 'givenName'
  | 'nameKey'
  | 'birthDate'
  | 'sex'
  | 'occupationCode';
type Criterion = 'MOST_RECENT' | 'SOURCE_TRUST' | 'BACKED_BY_VALID_ID';
export type SurvivorshipRule = { attribute: GoldenAttribute; criteria: Criterion[] };

const attributes = [
  'kind',
  'displayName',
  'familyName',
  'givenName',
  'nameKey',
  'birthDate',
  'sex',
  'occupationCode',
] as const;
const configSchema = z.object({
  sourceTrust: z.array(z.string().min(1)),
  rules: z.array(
    z.object({
      attribute: z.enum(attributes),
      criteria: z.array(z.enum(['MOST_RECENT', 'SOURCE_TRUST', 'BACKED_BY_VALID_ID'])).min(1),
    }),
  ),
});

/**
 * The rules are configuration (config/survivorship.json, or HUB_SURVIVORSHIP_CONFIG), validated at start:
 * a bad file stops the hub with the reason rather than silently surviving the wrong values.
 */
function loadRules(): { sourceTrust: readonly string[]; rules: readonly SurvivorshipRule[] } {
  const file =
    process.env.HUB_SURVIVORSHIP_CONFIG || fileURLToPath(new URL('../../config/survivorship.json', import.meta.url));
  const parsed = configSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `invalid survivorship configuration ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const missing = attributes.filter((a) => !parsed.data.rules.some((r) => r.attribute === a));
  if (missing.length > 0) throw new Error(`survivorship configuration ${file} has no rule for ${missing.join(', ')}`);
  return parsed.data;
}

const loaded = loadRules();
/** Source systems in order of trust (the policy system is the system of record). */
export const sourceTrust: readonly string[] = loaded.sourceTrust;
export const survivorshipRules: readonly SurvivorshipRule[] = loaded.rules;

export type GoldenValues = {
  kind: 'PERSON' | 'ORGANISATION';
  displayName: string | null;
  familyName: string | null;
  givenName: string | null;
  nameKey: string | null;
  birthDate: string | null;
  sex: 'M' | 'F' | 'U' | null;
  occupationCode: string | null;
};

function valueOf(c: SurvivorCandidate, attribute: GoldenAttribute): string | null {
  const a = c.attributes;
  switch (attribute) {
    case 'kind':
      return a.kind;
    case 'displayName':
      return a.fullName;
    case 'familyName':
      return a.familyName;
    case 'givenName':
      return a.givenName;
    case 'nameKey':
      return a.nameKey;
    case 'birthDate':
      return a.birthDate;
    case 'sex':
      return a.sex === 'U' ? null : a.sex;
    case 'occupationCode':
      return a.occupationCode;
  }
}

/** 1 when a valid resident id on the same record carries this value (ids encode birth date and sex). */
function backedByValidId(c: SurvivorCandidate, attribute: GoldenAttribute, value: string): number {
  const id = c.attributes.identifiers.find((i) => i.type === 'RESIDENT_ID' && i.valid && i.value !== null);
  if (!id?.value) return 0;
  if (attribute === 'birthDate')
    return `${id.value.slice(6, 10)}-${id.value.slice(10, 12)}-${id.value.slice(12, 14)}` === value ? 1 : 0;
  if (attribute === 'sex') return (Number(id.value[16]) % 2 === 1 ? 'M' : 'F') === value ? 1 : 0;
  return 0;
}

function compare(rule: SurvivorshipRule, a: SurvivorCandidate, av: string, b: SurvivorCandidate, bv: string): number {
  for (const criterion of rule.criteria) {
    let d = 0;
    if (criterion === 'MOST_RECENT') d = (b.sourceTime?.getTime() ?? 0) - (a.sourceTime?.getTime() ?? 0);
    else if (criterion === 'SOURCE_TRUST') d = trustRank(a.system) - trustRank(b.system);
    else d = backedByValidId(b, rule.attribute, bv) - backedByValidId(a, rule.attribute, av);
    if (d !== 0) return d;
  }
  // Not the record id (generated on arrival, so two stores of the same messages would pick differently): content.
  return compareRecords(a, b);
}

function trustRank(system: string): number {
  const i = sourceTrust.indexOf(system);
  return i === -1 ? sourceTrust.length : i;
}

export function survive(candidates: readonly SurvivorCandidate[]): {
  values: GoldenValues;
  lineage: Record<string, AttributeLineage>;
} {
  const values: Record<string, string | null> = {};
  const lineage: Record<string, AttributeLineage> = {};
  for (const rule of survivorshipRules) {
    let best: { c: SurvivorCandidate; v: string } | null = null;
    for (const c of candidates) {
      const v = valueOf(c, rule.attribute);
      if (v === null) continue;
      if (best === null || compare(rule, c, v, best.c, best.v) < 0) best = { c, v };
    }
    values[rule.attribute] = best?.v ?? null;
    if (best) {
      const event = eventBehind(best.c.attributeVersions, rule.attribute);
      lineage[rule.attribute] = {
        sourceRecordId: best.c.sourceRecordId,
        system: best.c.system,
        sourceId: best.c.sourceId,
        sourceTime: best.c.sourceTime?.toISOString() ?? null,
        ...(event ? { event } : {}),
      };
    }
  }
  return {
    values: {
      ...(values as Omit<GoldenValues, 'kind'>),
      kind: (values.kind as GoldenValues['kind'] | null) ?? 'PERSON',
    },
    lineage,
  };
}

export type PartyRow = GoldenValues & { status: string; lineage: Record<string, AttributeLineage> };

/**
 * Recomputes one golden party from its live source records and writes it only if something changed, so the
 * version counts real changes. A party with no live source record left becomes INACTIVE (never deleted:
 * its id stays resolvable and its history explainable).
 */
export async function recomputeParty(
  em: EntityManager,
  partyId: string,
  cause: HistoryCause = 'SOURCE_CHANGE',
  detail: Record<string, unknown> = {},
): Promise<'CHANGED' | 'UNCHANGED'> {
  const changed = await recomputeParties(em, new Map([[partyId, { cause, detail }]]));
  return changed.has(partyId) ? 'CHANGED' : 'UNCHANGED';
}

type CurrentRow = {
  id: string;
  version: number;
  kind: GoldenValues['kind'];
  status: string;
  display_name: string | null;
  family_name: string | null;
  given_name: string | null;
  name_key: string | null;
  birth_date: string | null;
  sex: GoldenValues['sex'];
  occupation_code: string | null;
  lineage: Record<string, AttributeLineage>;
};

/**
 * Recomputes a set of golden parties in a constant number of statements (records of all, the parties locked in
 * id order, one update of those that changed, one insert of their history rows); returns the ids that changed.
 * Each party gets the cause and detail given for it.
 */
export async function recomputeParties(
  em: EntityManager,
  parties: ReadonlyMap<string, { cause: HistoryCause; detail: Record<string, unknown> }>,
): Promise<Set<string>> {
  const changed = new Set<string>();
  const ids = [...parties.keys()].sort();
  for (const chunk of chunked(ids, 1000)) {
    const list = marks(chunk.length);
    const rows = await executeBound<LiveRecordRow[]>(
      em,
      `select ${liveRecordColumns} from source_record where party_id in (${list}) and not deleted`,
      chunk,
    );
    const recordsOf = new Map<string, SurvivorCandidate[]>();
    for (const r of rows) {
      const candidate = survivorOf(r);
      const list = recordsOf.get(r.party_id);
      if (list) list.push(candidate);
      else recordsOf.set(r.party_id, [candidate]);
    }
    // FOR NO KEY UPDATE, not FOR UPDATE: rows referencing a customer (alerts, relationships, household members)
    // take KEY SHARE on it when written, which FOR UPDATE would block — a lock-order cycle with the risk worker.
    const current = await executeBound<CurrentRow[]>(
      em,
      `select id, version, kind, status, display_name, family_name, given_name, name_key, to_char(birth_date, 'YYYY-MM-DD') as birth_date, sex, occupation_code, lineage
         from party where id in (${list}) order by id for no key update`,
      chunk,
    );
    const found = new Set(current.map((c) => c.id));
    const missing = chunk.find((id) => !found.has(id));
    if (missing) throw new Error(`golden party ${missing} does not exist`);
    const updates: PartyUpdate[] = [];
    const refreshes: { id: string; lineage: Record<string, AttributeLineage> }[] = [];
    for (const row of current) {
      const given = parties.get(row.id) as { cause: HistoryCause; detail: Record<string, unknown> };
      const outcome = recomputed(row, recordsOf.get(row.id) ?? [], given);
      if (outcome.kind === 'refresh') refreshes.push({ id: row.id, lineage: outcome.lineage });
      else if (outcome.kind === 'update') updates.push(outcome.update);
    }
    if (refreshes.length > 0) {
      await executeBound(
        em,
        `update party p set lineage = v.lineage::jsonb, updated_at = now() from (values ${marks(refreshes.length, '(?::uuid, ?)')}) as v(id, lineage) where p.id = v.id`,
        refreshes.flatMap((r) => [r.id, JSON.stringify(r.lineage)]),
      );
    }
    if (updates.length === 0) continue;
    const versions = await executeBound<{ id: string; version: number }[]>(
      em,
      `update party p set kind = v.kind, status = v.status, display_name = v.display_name, family_name = v.family_name, given_name = v.given_name, name_key = v.name_key,
              birth_date = v.birth_date, sex = v.sex, occupation_code = v.occupation_code, lineage = v.lineage, version = p.version + 1, updated_at = now()
         from ${unnestOf(['uuid', ...goldenTypes, 'jsonb'])}
              as v(id, kind, status, display_name, family_name, given_name, name_key, birth_date, sex, occupation_code, lineage)
        where p.id = v.id returning p.id, p.version`,
      byColumn(
        updates.map(({ id, next }) => [id, ...goldenValuesOf(next), JSON.stringify(next.lineage)]),
        goldenTypes.length + 2,
      ),
      { prepared: true },
    );
    const versionOf = new Map(versions.map((v) => [v.id, v.version]));
    await writeHistories(
      em,
      updates.map((u) => historyOf(u, versionOf.get(u.id) ?? 0)),
    );
    for (const u of updates) changed.add(u.id);
  }
  return changed;
}

/** A live source record as survivorship reads it: `select ${liveRecordColumns} from source_record …`. */
export type LiveRecordRow = {
  id: string;
  party_id: string;
  system: string;
  source_id: string;
  source_time: Date | null;
  attributes: PartyAttributes;
  attribute_versions: AttributeVersions | null;
};
export const liveRecordColumns = 'id, party_id, system, source_id, source_time, attributes, attribute_versions';

export function survivorOf(r: LiveRecordRow): SurvivorCandidate {
  return {
    sourceRecordId: r.id,
    system: r.system,
    sourceId: r.source_id,
    sourceTime: r.source_time ? new Date(r.source_time) : null,
    attributes: r.attributes,
    attributeVersions: r.attribute_versions,
  };
}

/** The PostgreSQL types of `goldenValuesOf`'s values, in order. */
export const goldenTypes = ['text', 'text', 'text', 'text', 'text', 'text', 'date', 'text', 'text'];
/** A party row's golden values: kind, status, names (display, family, given, key), birth date, sex, occupation. */
export const goldenValuesOf = (next: PartyRow): unknown[] => [
  next.kind,
  next.status,
  next.displayName,
  next.familyName,
  next.givenName,
  next.nameKey,
  next.birthDate,
  next.sex,
  next.occupationCode,
];

/** The history row (and event) of a new version. */
const historyOf = (u: PartyUpdate, version: number) => ({
  partyId: u.id,
  version,
  cause: u.cause,
  detail: u.detail,
  snapshot: u.next,
  created: u.created,
  changedAttributes: u.changedAttributes,
  sourcesChanged: u.sourcesChanged,
});

type PartyUpdate = {
  id: string;
  next: PartyRow;
  cause: HistoryCause;
  detail: Record<string, unknown>;
  created: boolean;
  changedAttributes: string[];
  sourcesChanged: string[];
};

/**
 * What recomputing one stored golden record from its live source records does: nothing, a lineage refresh in
 * place, or a new version (with its history). The one decision both the streaming recompute and the bulk load's
 * creation of golden records (`partyCreation`) take.
 */
function recomputed(
  row: CurrentRow,
  records: readonly SurvivorCandidate[],
  given: { cause: HistoryCause; detail: Record<string, unknown> },
):
  | { kind: 'none' }
  | { kind: 'refresh'; lineage: Record<string, AttributeLineage> }
  | { kind: 'update'; update: PartyUpdate } {
  if (row.status === 'MERGED' || row.status === 'ERASED') return { kind: 'none' }; // an erased record is never recomputed
  let next: PartyRow;
  if (records.length === 0) {
    next = { ...fromRow(row), status: 'INACTIVE' };
  } else {
    const { values, lineage } = survive(records);
    next = { ...values, status: 'ACTIVE', lineage };
  }
  const stored = { ...fromRow(row), status: row.status };
  if (sameParty(next, stored)) return { kind: 'none' };
  // The same values from the same records, only a newer source time of a winner (a repeat of the payer on
  // every premium): the lineage is refreshed in place, without a new version or history row — versions
  // record changes of what the golden record says or where it comes from.
  if (sameParty(next, stored, { ignoreSourceTimes: true })) return { kind: 'refresh', lineage: next.lineage };
  return {
    kind: 'update',
    update: {
      id: row.id,
      next,
      cause: next.status === 'INACTIVE' && row.status !== 'INACTIVE' ? 'DEACTIVATED' : given.cause,
      detail: given.detail,
      // A golden record is inserted at version 1 and recomputed in the same transaction: its first version.
      created: row.version === 1,
      ...whatChanged(stored, next),
    },
  };
}

/**
 * The bulk load's golden records, written whole (COPY) as inserting each (version 1, defaults) and recomputing
 * it in the same transaction would leave it (streaming's set-based path does the same for a batch's new golden
 * records, party-batch-create.ts) — the same values, lineage, version, history row and CREATED event —
 * without writing every golden record twice (an insert, then an update that leaves a dead row version behind
 * for each). `records` are each party's live source records. Computed here, written by `writePartyCreation`, so
 * that the bulk load computes the next golden records while the database writes these.
 */
export function partyCreation(
  parties: readonly { id: string; kind: GoldenValues['kind']; records: readonly SurvivorCandidate[] }[],
  given: { cause: HistoryCause; detail: Record<string, unknown> },
): PartyCreation {
  const rows: unknown[][] = [];
  const updates: PartyUpdate[] = [];
  for (const p of parties) {
    const inserted: CurrentRow = {
      id: p.id,
      version: 1,
      kind: p.kind,
      status: 'ACTIVE',
      display_name: null,
      family_name: null,
      given_name: null,
      name_key: null,
      birth_date: null,
      sex: null,
      occupation_code: null,
      lineage: {},
    };
    const outcome = recomputed(inserted, p.records, given);
    const next: PartyRow =
      outcome.kind === 'update'
        ? outcome.update.next
        : {
            ...fromRow(inserted),
            status: inserted.status,
            ...(outcome.kind === 'refresh' ? { lineage: outcome.lineage } : {}),
          };
    if (outcome.kind === 'update') updates.push(outcome.update);
    rows.push([p.id, ...goldenValuesOf(next), next.lineage, outcome.kind === 'update' ? 2 : 1]);
  }
  return { rows, histories: updates.map((u) => historyOf(u, 2)) };
}

/** The golden records `partyCreation` computed (it is the one that decides; this only writes). */
export type PartyCreation = {
  rows: unknown[][];
  /** One per golden record that got a first version. */
  histories: ReturnType<typeof historyOf>[];
};

export async function writePartyCreation(em: EntityManager, creation: PartyCreation): Promise<void> {
  await copyRows(
    em,
    'party',
    [
      'id',
      'kind',
      'status',
      'display_name',
      'family_name',
      'given_name',
      'name_key',
      'birth_date',
      'sex',
      'occupation_code',
      'lineage',
      'version',
    ],
    creation.rows,
  );
  await writeHistories(em, creation.histories, 'copy');
}

function fromRow(r: Omit<CurrentRow, 'id' | 'status'>): Omit<PartyRow, 'status'> {
  return {
    kind: r.kind,
    displayName: r.display_name,
    familyName: r.family_name,
    givenName: r.given_name,
    nameKey: r.name_key,
    birthDate: r.birth_date,
    sex: r.sex,
    occupationCode: r.occupation_code,
    lineage: r.lineage,
  };
}

const compared = [
  'kind',
  'status',
  'displayName',
  'familyName',
  'givenName',
  'nameKey',
  'birthDate',
  'sex',
  'occupationCode',
] as const;

/** Golden attribute names (as the GraphQL `Customer` names them) whose value, or whose source, changed. */
export function whatChanged(
  before: PartyRow,
  after: PartyRow,
): { changedAttributes: string[]; sourcesChanged: string[] } {
  const changedAttributes = compared.filter((k) => k !== 'nameKey' && before[k] !== after[k]);
  const names = new Set([...Object.keys(before.lineage ?? {}), ...Object.keys(after.lineage ?? {})]);
  const sourceOf = (l: AttributeLineage | undefined) =>
    l ? stableJson({ record: l.sourceRecordId, event: l.event?.eventId ?? null }) : null;
  const sourcesChanged = [...names]
    .filter((k) => k !== 'nameKey' && sourceOf(before.lineage?.[k]) !== sourceOf(after.lineage?.[k]))
    .sort();
  return { changedAttributes, sourcesChanged };
}

function sameParty(a: PartyRow, b: PartyRow, opts: { ignoreSourceTimes?: boolean } = {}): boolean {
  const lineage = (l: Record<string, AttributeLineage>) =>
    opts.ignoreSourceTimes
      ? Object.fromEntries(Object.entries(l ?? {}).map(([k, v]) => [k, { ...v, sourceTime: null }]))
      : l;
  return compared.every((k) => a[k] === b[k]) && stableJson(lineage(a.lineage)) === stableJson(lineage(b.lineage));
}

export { writeHistory, type HistoryCause } from './history.ts';
