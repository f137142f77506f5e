import type { ContactPoint, Party, PartyIdentifier, Policy, PolicyCover, PolicyRole } from '../model/index.ts';

/**
 * The customer 360's rows as the read path serves them: plain objects read with bound SQL (no entity
 * hydration, no identity map), with the entities' property names and value types — so an entity, where a
 * mutation returns one, is one of these rows too (codegen.yml maps the GraphQL types to them).
 * Value types as MikroORM gives them: dates as `YYYY-MM-DD` strings, timestamps as `Date`, numeric and bigint
 * columns as exact strings, JSON parsed.
 */
export type PartyRow = Pick<
  Party,
  | 'id'
  | 'kind'
  | 'status'
  | 'displayName'
  | 'familyName'
  | 'givenName'
  | 'birthDate'
  | 'sex'
  | 'occupationCode'
  | 'lineage'
  | 'mergedIntoId'
  | 'version'
  | 'updatedAt'
>;
export type IdentifierRow = Pick<
  PartyIdentifier,
  'id' | 'partyId' | 'sourceRecordId' | 'type' | 'value' | 'valid' | 'issues'
>;
export type ContactPointRow = Pick<
  ContactPoint,
  'id' | 'partyId' | 'sourceRecordId' | 'kind' | 'value' | 'valid' | 'issues' | 'validFrom' | 'validTo'
>;
export type PolicyRow = Pick<
  Policy,
  | 'id'
  | 'system'
  | 'policyNo'
  | 'productCode'
  | 'status'
  | 'commencementDate'
  | 'paidToDate'
  | 'sumInsured'
  | 'premium'
  | 'billingFrequency'
  | 'channel'
  | 'agentCode'
>;
export type PolicyCoverRow = Pick<
  PolicyCover,
  'id' | 'system' | 'policyNo' | 'coverage' | 'rider' | 'productCode' | 'sumInsured' | 'premium' | 'status'
>;
export type PolicyRoleRow = Pick<
  PolicyRole,
  'id' | 'system' | 'policyNo' | 'clientSourceId' | 'role' | 'beneficiaryOrder' | 'sharePercent' | 'current'
>;

// Column lists, once per row type. `cols` are for plain selects (pg parses the values: timestamps arrive as
// text, see src/db/orm.ts, and are turned into Dates below); `json` builds the same row as a JSON object inside
// an aggregate (numeric cast to text so that "10000.00" stays exact and keeps its scale).

/** `lineage`: the column, or an expression in its place (the customer read leaves it out unless asked for). */
export const partyCols = (p: string, lineage = `${p}.lineage`) =>
  `${p}.id, ${p}.kind, ${p}.status, ${p}.display_name as "displayName", ${p}.family_name as "familyName",
   ${p}.given_name as "givenName", ${p}.birth_date as "birthDate", ${p}.sex, ${p}.occupation_code as "occupationCode",
   ${lineage} as lineage, ${p}.merged_into_id as "mergedIntoId", ${p}.version, ${p}.updated_at as "updatedAt"`;

export const identifierCols = (i: string) =>
  `${i}.id, ${i}.party_id as "partyId", ${i}.source_record_id as "sourceRecordId", ${i}.type, ${i}.value,
   ${i}.valid, ${i}.issues`;
export const identifierJson = (i: string) =>
  `json_build_object('id', ${i}.id, 'partyId', ${i}.party_id, 'sourceRecordId', ${i}.source_record_id,
   'type', ${i}.type, 'value', ${i}.value, 'valid', ${i}.valid, 'issues', ${i}.issues)`;
/** The identifiers loader's order. */
export const identifierOrder = (i: string) => `${i}.type, ${i}.id`;

export const contactPointCols = (c: string) =>
  `${c}.id, ${c}.party_id as "partyId", ${c}.source_record_id as "sourceRecordId", ${c}.kind, ${c}.value,
   ${c}.valid, ${c}.issues, ${c}.valid_from as "validFrom", ${c}.valid_to as "validTo"`;
export const contactPointJson = (c: string) =>
  `json_build_object('id', ${c}.id, 'partyId', ${c}.party_id, 'sourceRecordId', ${c}.source_record_id,
   'kind', ${c}.kind, 'value', ${c}.value, 'valid', ${c}.valid, 'issues', ${c}.issues,
   'validFrom', ${c}.valid_from, 'validTo', ${c}.valid_to)`;
export const contactPointOrder = (c: string) => `${c}.kind, ${c}.valid_from desc, ${c}.id`;

export const policyCols = (p: string) =>
  `${p}.id, ${p}.system, ${p}.policy_no as "policyNo", ${p}.product_code as "productCode", ${p}.status,
   ${p}.commencement_date as "commencementDate", ${p}.paid_to_date as "paidToDate", ${p}.sum_insured as "sumInsured",
   ${p}.premium, ${p}.billing_frequency as "billingFrequency", ${p}.channel, ${p}.agent_code as "agentCode"`;
export const policyJsonFields = (p: string) =>
  `'id', ${p}.id, 'system', ${p}.system, 'policyNo', ${p}.policy_no, 'productCode', ${p}.product_code,
   'status', ${p}.status, 'commencementDate', ${p}.commencement_date, 'paidToDate', ${p}.paid_to_date,
   'sumInsured', ${p}.sum_insured::text, 'premium', ${p}.premium::text, 'billingFrequency', ${p}.billing_frequency,
   'channel', ${p}.channel, 'agentCode', ${p}.agent_code`;

export const coverCols = (c: string) =>
  `${c}.id, ${c}.system, ${c}.policy_no as "policyNo", ${c}.coverage, ${c}.rider, ${c}.product_code as "productCode",
   ${c}.sum_insured as "sumInsured", ${c}.premium, ${c}.status`;
export const coverJson = (c: string) =>
  `json_build_object('id', ${c}.id, 'system', ${c}.system, 'policyNo', ${c}.policy_no, 'coverage', ${c}.coverage,
   'rider', ${c}.rider, 'productCode', ${c}.product_code, 'sumInsured', ${c}.sum_insured::text,
   'premium', ${c}.premium::text, 'status', ${c}.status)`;
/** The covers loader's order: main cover first, then riders. */
export const coverOrder = (c: string) => `${c}.coverage, ${c}.rider`;

export const roleCols = (r: string) =>
  `${r}.id, ${r}.system, ${r}.policy_no as "policyNo", ${r}.client_source_id as "clientSourceId", ${r}.role,
   ${r}.beneficiary_order as "beneficiaryOrder", ${r}.share_percent as "sharePercent", ${r}.current`;
export const roleJson = (r: string) =>
  `json_build_object('id', ${r}.id, 'system', ${r}.system, 'policyNo', ${r}.policy_no,
   'clientSourceId', ${r}.client_source_id, 'role', ${r}.role, 'beneficiaryOrder', ${r}.beneficiary_order,
   'sharePercent', ${r}.share_percent::text, 'current', ${r}.current)`;
/** The participants loader's order. */
export const participantOrder = (r: string) => `${r}.role, ${r}.beneficiary_order, ${r}.client_source_id`;

/** A timestamp column as the entities hold it (text from a plain select, ISO 8601 from JSON) → Date. */
const toDate = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

export function asPartyRow(raw: Record<string, unknown>): PartyRow {
  raw.updatedAt = toDate(raw.updatedAt);
  return raw as unknown as PartyRow;
}

export function asContactPointRow(raw: Record<string, unknown>): ContactPointRow {
  raw.validFrom = toDate(raw.validFrom);
  raw.validTo = toDate(raw.validTo);
  return raw as unknown as ContactPointRow;
}

/** Rows that need no conversion: every value already has the entity's type. */
export const asRows = <T>(raw: readonly Record<string, unknown>[]): T[] => raw as unknown as T[];
