import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { parseDebeziumKey, parseDebeziumValue } from '../framework/debezium.ts';
import { MappingError } from '../framework/errors.ts';
import { code, decimal, integer, micros, microsToDate, requiredText, text, type Row } from '../framework/fields.ts';
import { documentSourceId, personAttributes } from '../framework/party-builder.ts';
import { fromDebeziumDays } from '../../domain/normalize/index.ts';

/**
 * claims — claims system CDC (contract §3): Debezium with schemas disabled (bare envelope), PostgreSQL source,
 * `io.debezium.time.Date` (days) and `MicroTimestamp` (µs) encodings, string decimals. Claims registered in error
 * are deleted (op d + tombstone) and disappear from the customer 360. The claimant is a `claims` source record
 * identified by id document.
 */
export const claimsManifest: ConnectorManifest = {
  id: 'claims',
  version: '1.0.0',
  sourceSystem: 'claims',
  topics: ['claims.public.claim'],
  keyFormat: 'debezium-json',
  valueFormat: 'debezium-json',
  // Debezium CDC: every message is the whole claim row, claimant included.
  messages: 'records',
  description: 'Claims system: reported, assessed, paid and closed claims with claimant and amounts.',
};

const causes = {
  ACC: 'ACCIDENT',
  ILL: 'ILLNESS',
  HOS: 'HOSPITALISATION',
  CI: 'CRITICAL_ILLNESS',
  DTH: 'DEATH',
  DIS: 'DISABILITY',
} as const;
const statuses = {
  REPORTED: 'REPORTED',
  ASSESSING: 'ASSESSING',
  APPROVED: 'APPROVED',
  PAID: 'PAID',
  DECLINED: 'DECLINED',
  WITHDRAWN: 'WITHDRAWN',
  CLOSED: 'CLOSED',
} as const;

function versionOf(row: Row, tsMs: number | null, op: string): { sourceVersion: string; sourceTime: Date } {
  const updated = micros(row, 'updated_at');
  if (op === 'd') {
    const base = updated === null ? 0n : BigInt(updated) + 1n;
    const ts = tsMs === null ? 0n : BigInt(tsMs) * 1000n;
    const v = ts > base ? ts : base;
    return { sourceVersion: v.toString(), sourceTime: new Date(Number(v / 1000n)) };
  }
  if (updated === null) throw new MappingError('MISSING_FIELD', 'updated_at is required');
  return { sourceVersion: updated, sourceTime: microsToDate(updated) };
}

export function mapClaims(message: SourceMessage): CanonicalChange[] {
  const key = parseDebeziumKey(message.key);
  const change = parseDebeziumValue(message.value);
  if (change === null) return [];
  const row = (change.op === 'd' ? change.before : change.after) as Row;
  const claimId = text(key, 'claim_id') ?? requiredText(row, 'claim_id');
  const version = versionOf(row, change.sourceTsMs, change.op);
  if (change.op === 'd')
    return [{ entity: 'activity', op: 'delete', kind: 'CLAIM', system: 'claims', sourceKey: claimId, ...version }];
  const changes: CanonicalChange[] = [];
  const idType = text(row, 'claimant_id_type');
  const sourceId = documentSourceId(idType, text(row, 'claimant_id_no'), null);
  if (sourceId) {
    changes.push({
      entity: 'party',
      op: 'upsert',
      system: 'claims',
      sourceId,
      ...version,
      raw: {
        claimant_name: row.claimant_name ?? null,
        claimant_id_type: idType,
        claimant_id_no: row.claimant_id_no ?? null,
        claimant_phone: row.claimant_phone ?? null,
      },
      attributes: personAttributes({
        name: text(row, 'claimant_name'),
        idType,
        idNumber: text(row, 'claimant_id_no'),
        mobile: text(row, 'claimant_phone'),
      }),
    });
  }
  const incidentDays = integer(row, 'incident_date');
  const reported = micros(row, 'reported_at');
  changes.push({
    entity: 'activity',
    op: 'upsert',
    kind: 'CLAIM',
    system: 'claims',
    sourceKey: claimId,
    ...version,
    data: {
      party: sourceId ? { system: 'claims', sourceId } : null,
      callerPhoneKey: null,
      policyNo: text(row, 'policy_no'),
      occurredAt: reported === null ? null : microsToDate(reported),
      type: code(row, 'cause_code', causes),
      status: code(row, 'status', statuses),
      amount: decimal(row, 'claimed_amount'),
      details: {
        claimNo: text(row, 'claim_no'),
        incidentDate: incidentDays === null ? null : fromDebeziumDays(incidentDays),
        claimedAmount: decimal(row, 'claimed_amount'),
        paidAmount: decimal(row, 'paid_amount'),
        payeeBankAccount: text(row, 'payee_bank_account'),
      },
    },
  });
  return changes;
}

export const claimsConnector: Connector = { manifest: claimsManifest, map: mapClaims };
