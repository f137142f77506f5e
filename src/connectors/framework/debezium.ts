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

/**
 * A message's JSON, the schema envelope stripped when present (`{"schema":…,"payload":…}` → the payload).
 * With `schemas.enable=true` every message carries its table's whole schema before the payload — two thirds of
 * the bytes of a core-policy change event, the same for every message of a table — and parsing it was most of
 * the cost of reading one (bulk load: ~0.4 s of JSON.parse per 130,000 messages of the 0.6 s). So the exact
 * bytes `{"schema":<schema>,"payload":` of envelopes already read are remembered (up to `maxKnownSchemas`, the
 * first seen; a connector reads a few tables), and a message that starts with one of them has only the rest
 * parsed: `<payload>}`. That is the same result as parsing the whole message, since the remembered bytes are a
 * complete `"schema"` member; anything else after the payload (another member, trailing garbage) makes the short
 * parse fail and the whole message is parsed as before, with the same errors.
 */
const knownSchemas: Buffer[] = [];
const maxKnownSchemas = 64;
/** Envelopes whose schema text was not compact: after this many, no more are tried (each costs a stringify). */
let triesLeft = 1_000;
const payloadMember = ',"payload":';

export function parseUnwrapped(buf: Buffer, what: string): unknown {
  for (let i = 0; i < knownSchemas.length; i += 1) {
    const prefix = knownSchemas[i] as Buffer;
    if (buf.length <= prefix.length || buf.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) continue;
    // Messages come in runs of one table: the schema just matched is tried first next time.
    if (i > 0) knownSchemas.unshift(...knownSchemas.splice(i, 1));
    let end = buf.length;
    while (end > prefix.length && isJsonSpace(buf[end - 1] as number)) end -= 1;
    if (buf[end - 1] !== 0x7d) break; // not `…}`: the whole message decides
    try {
      return JSON.parse(buf.toString('utf8', prefix.length, end - 1));
    } catch {
      break;
    }
  }
  const doc = parseJson(buf, what);
  if (isRecord(doc) && 'payload' in doc && 'schema' in doc) {
    rememberSchema(buf, doc.schema);
    return doc.payload;
  }
  return doc;
}

function rememberSchema(buf: Buffer, schema: unknown): void {
  if (knownSchemas.length >= maxKnownSchemas || triesLeft <= 0) return;
  triesLeft -= 1;
  // The converter writes compact JSON: its schema text is what JSON.stringify gives back (else: not remembered).
  const prefix = Buffer.from(`{"schema":${JSON.stringify(schema)}${payloadMember}`);
  if (buf.length > prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0)
    if (!knownSchemas.some((k) => k.equals(prefix))) knownSchemas.push(prefix);
}

const isJsonSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Parses a Debezium key into its primary-key columns. */
export function parseDebeziumKey(buf: Buffer | null): Record<string, unknown> {
  if (buf === null || buf.length === 0) throw new MappingError('MISSING_FIELD', 'message has no key');
  const key = parseUnwrapped(buf, 'key');
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
  const payload = parseUnwrapped(buf, 'value');
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
