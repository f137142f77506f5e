import { MappingError } from './errors.ts';

/**
 * Debezium JSON change events, with or without the JSON converter's schema envelope
 * (`{"schema":…,"payload":…}` when `schemas.enable=true`, the bare payload otherwise).
 */
export type DebeziumOp = 'c' | 'u' | 'd' | 'r';
export type DebeziumChange = {
  op: DebeziumOp;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown>;
  /** When the change happened in the source database (source.ts_ms), if given. */
  sourceTsMs: number | null;
};

export function parseJson(buf: Buffer, what: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new MappingError('UNPARSEABLE', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strips the schema envelope when present. */
export function unwrapSchema(doc: unknown): unknown {
  if (isRecord(doc) && 'payload' in doc && 'schema' in doc) return doc.payload;
  return doc;
}

/** Parses a Debezium key into its primary-key columns. */
export function parseDebeziumKey(buf: Buffer | null): Record<string, unknown> {
  if (buf === null || buf.length === 0) throw new MappingError('MISSING_FIELD', 'message has no key');
  const key = unwrapSchema(parseJson(buf, 'key'));
  if (!isRecord(key)) throw new MappingError('INVALID_ENVELOPE', 'key is not a JSON object of primary-key columns');
  return key;
}

/**
 * A zero-byte value is not a tombstone (Kafka's tombstone is a null value): taking it for one would drop the
 * message unseen, so it is quarantined.
 */
export const emptyValue = () =>
  new MappingError('EMPTY_VALUE', 'the value is zero bytes long (a tombstone has a null value, not an empty one)');

/** Parses a Debezium value; returns null for a tombstone (null value after a delete). */
export function parseDebeziumValue(buf: Buffer | null): DebeziumChange | null {
  if (buf === null) return null;
  if (buf.length === 0) throw emptyValue();
  const payload = unwrapSchema(parseJson(buf, 'value'));
  if (!isRecord(payload)) throw new MappingError('INVALID_ENVELOPE', 'value is not a Debezium change event object');
  const op = payload.op;
  if (op === 't' || op === 'm')
    throw new MappingError('UNSUPPORTED_OPERATION', `Debezium op "${op}" is not applied by this connector`);
  if (op !== 'c' && op !== 'u' && op !== 'd' && op !== 'r') {
    throw new MappingError('INVALID_ENVELOPE', `value has no valid Debezium "op" (got ${JSON.stringify(op)})`);
  }
  const before = payload.before ?? null;
  const after = payload.after ?? null;
  if (before !== null && !isRecord(before)) throw new MappingError('INVALID_ENVELOPE', '"before" is not an object');
  if (after !== null && !isRecord(after)) throw new MappingError('INVALID_ENVELOPE', '"after" is not an object');
  if (op === 'd' ? before === null : after === null) {
    throw new MappingError('INVALID_ENVELOPE', `op "${op}" without ${op === 'd' ? '"before"' : '"after"'} row`);
  }
  const source = isRecord(payload.source) ? payload.source : {};
  const ts = source.ts_ms;
  return { op, before, after, source, sourceTsMs: typeof ts === 'number' && Number.isFinite(ts) ? ts : null };
}
