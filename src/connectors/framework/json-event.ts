import { MappingError } from './errors.ts';
import { emptyValue, parseJson } from './debezium.ts';
import { text, type Row } from './fields.ts';

/** Plain JSON events (billing, contact-centre, agency-crm, web-app): one object per message value. */
export function parseJsonEvent(buf: Buffer | null): Row | null {
  if (buf === null) return null;
  if (buf.length === 0) throw emptyValue();
  const doc = parseJson(buf, 'value');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new MappingError('INVALID_ENVELOPE', 'value is not a JSON object');
  return doc as Row;
}

export function objectField(row: Row, field: string): Row | null {
  const v = row[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new MappingError('INVALID_VALUE', `${field} must be an object`);
  return v as Row;
}

/** ISO 8601 instants; the contracts require an offset, and a time without one is rejected rather than guessed. */
export function isoInstant(row: Row, field: string, required = true): Date | null {
  const v = text(row, field);
  if (v === null) {
    if (required) throw new MappingError('MISSING_FIELD', `${field} is required`);
    return null;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
    throw new MappingError('INVALID_VALUE', `${field} must be an ISO 8601 time with offset (got ${JSON.stringify(v)})`);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new MappingError('INVALID_VALUE', `${field} is not a valid time (got ${JSON.stringify(v)})`);
  return d;
}

/** Source version of an event time: microseconds since the epoch. */
export function versionOfInstant(d: Date): string {
  return (BigInt(d.getTime()) * 1000n).toString();
}
