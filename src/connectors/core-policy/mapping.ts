import type {
  CanonicalChange,
  CanonicalContactPoint,
  CanonicalIdentifier,
  PartyAttributes,
  PolicyRoleType,
} from '../../domain/canonical.ts';
import type { SourceMessage } from '../framework/connector.ts';
import { parseDebeziumKey, parseDebeziumValue, type DebeziumChange } from '../framework/debezium.ts';
import { MappingError } from '../framework/errors.ts';
import { code, decimal, integer, micros, microsToDate, requiredText, text, type Row } from '../framework/fields.ts';
import {
  cleanText,
  fromYyyymmddInt,
  nameKey,
  normalizeAddress,
  normalizeCompanyName,
  normalizeEmail,
  normalizeIdDocument,
  normalizePersonName,
  normalizePhone,
} from '../../domain/normalize/index.ts';
import { corePolicyManifest, corePolicyTopics } from './manifest.ts';

/**
 * Pure mapping of the core-policy (LIFEDB) Debezium topics to canonical changes. Contract: §1 of
 * shared/sources/source-systems.md — CHAR columns padded with spaces, dates as YYYYMMDD integers
 * (0 / 99999999 = unknown), DTEUPD in microseconds since the epoch (our source version).
 */
const system = corePolicyManifest.sourceSystem;

const clientTypes = { P: 'PERSON', C: 'ORGANISATION' } as const;
const sexes = { M: 'M', F: 'F', U: 'U' } as const;
const policyStatuses = { IF: 'IF', LA: 'LA', RI: 'RI', SU: 'SU', MA: 'MA', CL: 'CL', CF: 'CF' } as const;
const billingFrequencies = { '01': 'ANNUAL', '12': 'MONTHLY' } as const;
const channels = { AG: 'AGENCY', BA: 'BANCASSURANCE', TM: 'TELEMARKETING', WB: 'WEB' } as const;
const roles: Record<string, PolicyRoleType> = { OW: 'POLICYHOLDER', LF: 'INSURED', BN: 'BENEFICIARY', PY: 'PAYER' };
const validFlags = { '1': 'CURRENT', '2': 'HISTORY' } as const;
/** CLTRELN, the role holder's relation to the life insured (optional column). */
const relations = { SF: 'SELF', SP: 'SPOUSE', CH: 'CHILD', PA: 'PARENT', OT: 'OTHER' } as const;

export function mapCorePolicy(message: SourceMessage): CanonicalChange[] {
  const key = parseDebeziumKey(message.key);
  const change = parseDebeziumValue(message.value);
  if (change === null) return []; // tombstone: the preceding op "d" already carried the delete
  switch (message.topic) {
    case corePolicyTopics.client:
      return [mapClient(key, change)];
    case corePolicyTopics.policy:
      return [mapPolicy(key, change)];
    case corePolicyTopics.role:
      return [mapRole(key, change)];
    case corePolicyTopics.cover:
      return [mapCover(key, change)];
    default:
      throw new MappingError('UNKNOWN_TOPIC', `core-policy does not consume topic ${message.topic}`);
  }
}

/**
 * Source version = DTEUPD of the row. A delete has no new row, so its version is the later of the deleted
 * row's DTEUPD + 1 and the time of the delete in the source (source.ts_ms): it must win over the row it deletes.
 */
function versionOf(row: Row, change: DebeziumChange): { sourceVersion: string; sourceTime: Date | null } {
  const updated = micros(row, 'DTEUPD');
  const tsMicros = change.sourceTsMs === null ? null : BigInt(change.sourceTsMs) * 1000n;
  if (change.op === 'd') {
    const after = updated === null ? 0n : BigInt(updated) + 1n;
    const v = tsMicros !== null && tsMicros > after ? tsMicros : after;
    return { sourceVersion: v.toString(), sourceTime: new Date(Number(v / 1000n)) };
  }
  if (updated !== null) return { sourceVersion: updated, sourceTime: microsToDate(updated) };
  if (tsMicros !== null) return { sourceVersion: tsMicros.toString(), sourceTime: new Date(change.sourceTsMs ?? 0) };
  throw new MappingError('MISSING_FIELD', 'DTEUPD is required (and source.ts_ms is absent)');
}

/** The row that carries the key columns: `after` for c/u/r, `before` for d. */
function rowOf(change: DebeziumChange): Row {
  const row = change.op === 'd' ? change.before : change.after;
  if (row === null) throw new MappingError('INVALID_ENVELOPE', 'change event without a row');
  return row;
}

function keyText(key: Row, row: Row, field: string): string {
  return text(key, field) ?? requiredText(row, field);
}

function mapClient(key: Row, change: DebeziumChange): CanonicalChange {
  const row = rowOf(change);
  const sourceId = keyText(key, row, 'CLNTNUM');
  const version = versionOf(row, change);
  if (change.op === 'd') return { entity: 'party', op: 'delete', system, sourceId, ...version };
  return { entity: 'party', op: 'upsert', system, sourceId, raw: row, attributes: clientAttributes(row), ...version };
}

export function clientAttributes(row: Row): PartyAttributes {
  const kind = code(row, 'CLTTYPE', clientTypes);
  if (kind === null) throw new MappingError('MISSING_FIELD', 'CLTTYPE is required (P person / C company)');
  const sex = code(row, 'CLTSEX', sexes);
  const birthDate = fromYyyymmddInt(integer(row, 'CLTDOB'));

  let fullName: string | null;
  let familyName: string | null = null;
  let givenName: string | null = null;
  let key: string | null;
  if (kind === 'PERSON') {
    const name = normalizePersonName({ family: text(row, 'SURNAME'), given: text(row, 'GIVNAME') });
    fullName = name.full;
    familyName = name.family;
    givenName = name.given;
    key = name.key;
  } else {
    const legal = text(row, 'LGIVNAME') ?? text(row, 'SURNAME');
    fullName = legal;
    key = legal === null ? null : (normalizeCompanyName(legal).key ?? nameKey(legal));
  }

  const identifiers: CanonicalIdentifier[] = [];
  const idNo = text(row, 'IDNO');
  if (idNo !== null) {
    const id = normalizeIdDocument(text(row, 'IDTYPE'), idNo, { birthDate, sex });
    identifiers.push({ type: id.type, value: id.value, raw: id.raw, valid: id.valid, issues: id.issues });
  }

  const contactPoints: CanonicalContactPoint[] = [];
  for (const field of ['MOBILE', 'PHONE']) {
    const raw = text(row, field);
    // Blank (only invisible characters): no contact point, as in party-builder.ts.
    if (raw === null || cleanText(raw) === null) continue;
    const phone = normalizePhone(raw);
    contactPoints.push({
      kind: phone.kind,
      value: phone.value,
      raw,
      searchKey: phone.searchKey,
      valid: phone.valid,
      issues: phone.issues,
    });
  }
  const emailRaw = text(row, 'EMAIL');
  if (emailRaw !== null && cleanText(emailRaw) !== null) {
    const email = normalizeEmail(emailRaw);
    contactPoints.push({
      kind: 'EMAIL',
      value: email.value,
      raw: emailRaw,
      searchKey: email.value,
      valid: email.valid,
      issues: email.issues,
    });
  }
  const addressLines = ['ADDR1', 'ADDR2', 'ADDR3'].map((f) => text(row, f)).filter((v): v is string => v !== null);
  if (addressLines.length > 0) {
    const postcode = text(row, 'POSTCODE');
    const value = addressLines.join(' ') + (postcode === null ? '' : ` ${postcode}`);
    // The key (simplified, no spaces or punctuation, without the postcode) lets the risk rules see one address
    // written two ways as shared. A placeholder ("-", "#", "()") has no letters left: kept as written, invalid and
    // without a key — an empty key would make everyone whose address was never captured share one address
    // (co-residents in the household derivation, a network in the alert rules).
    const key = normalizeAddress(addressLines.join('')).key;
    const placeholder = key === null || key === '';
    contactPoints.push({
      kind: 'ADDRESS',
      value,
      raw: value,
      searchKey: placeholder ? null : key,
      valid: !placeholder,
      issues: placeholder ? ['PLACEHOLDER'] : [],
    });
  }

  return {
    kind,
    fullName,
    familyName,
    givenName,
    nameKey: key,
    birthDate,
    sex,
    occupationCode: text(row, 'OCCPCODE'),
    identifiers,
    contactPoints,
  };
}

function mapPolicy(key: Row, change: DebeziumChange): CanonicalChange {
  const row = rowOf(change);
  const policyNo = keyText(key, row, 'CHDRNUM');
  const version = versionOf(row, change);
  if (change.op === 'd') return { entity: 'policy', op: 'delete', system, policyNo, ...version };
  return {
    entity: 'policy',
    op: 'upsert',
    system,
    policyNo,
    ...version,
    data: {
      productCode: text(row, 'CNTTYPE'),
      status: code(row, 'STATCODE', policyStatuses),
      commencementDate: fromYyyymmddInt(integer(row, 'OCCDATE')),
      paidToDate: fromYyyymmddInt(integer(row, 'PTDATE')),
      sumInsured: decimal(row, 'SINSTAMT'),
      premium: decimal(row, 'INSTPREM'),
      billingFrequency: code(row, 'BILLFREQ', billingFrequencies),
      channel: code(row, 'SRCEBUS', channels),
      agentCode: text(row, 'AGNTNUM'),
    },
  };
}

function mapRole(key: Row, change: DebeziumChange): CanonicalChange {
  const row = rowOf(change);
  const roleCode = keyText(key, row, 'CLRRROLE');
  const role = roles[roleCode];
  if (role === undefined)
    throw new MappingError(
      'UNKNOWN_CODE',
      `CLRRROLE has unknown code ${JSON.stringify(roleCode)} (expected OW, LF, BN or PY)`,
    );
  const roleKey = { policyNo: keyText(key, row, 'CHDRNUM'), clientSourceId: keyText(key, row, 'CLNTNUM'), role };
  const version = versionOf(row, change);
  if (change.op === 'd') return { entity: 'policyRole', op: 'delete', system, key: roleKey, ...version };
  const share = decimal(row, 'BNYPC');
  if (share !== null && (Number(share) < 0 || Number(share) > 100)) {
    throw new MappingError('INVALID_VALUE', `BNYPC must be a percentage between 0 and 100 (got ${share})`);
  }
  return {
    entity: 'policyRole',
    op: 'upsert',
    system,
    key: roleKey,
    ...version,
    data: {
      beneficiaryOrder: integer(row, 'BNYSEQ'),
      sharePercent: share,
      current: code(row, 'VALIDFLAG', validFlags) !== 'HISTORY',
      relationCode: code(row, 'CLTRELN', relations),
    },
  };
}

function mapCover(key: Row, change: DebeziumChange): CanonicalChange {
  const row = rowOf(change);
  const coverKey = {
    policyNo: keyText(key, row, 'CHDRNUM'),
    coverage: keyText(key, row, 'COVERAGE'),
    rider: keyText(key, row, 'RIDER'),
  };
  const version = versionOf(row, change);
  if (change.op === 'd') return { entity: 'policyCover', op: 'delete', system, key: coverKey, ...version };
  return {
    entity: 'policyCover',
    op: 'upsert',
    system,
    key: coverKey,
    ...version,
    data: {
      productCode: text(row, 'CRTABLE'),
      sumInsured: decimal(row, 'SUMINS'),
      premium: decimal(row, 'INSTPREM'),
      status: code(row, 'STATCODE', policyStatuses),
    },
  };
}
