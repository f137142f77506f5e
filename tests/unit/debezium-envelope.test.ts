import { describe, expect, it, vi } from 'vitest';
import { parseDebeziumValue, parseUnwrapped } from '../../src/connectors/framework/debezium.ts';
import { MappingError } from '../../src/connectors/framework/errors.ts';

/**
 * parseUnwrapped parses only the payload of an envelope whose schema bytes it has seen before: whatever the bytes,
 * the result (or the error) must be the one a full parse gives.
 */
const schema = {
  type: 'struct',
  name: 'test.LIFEDB.ENVELOPE_TEST.Envelope',
  fields: [{ field: 'after', type: 'struct', optional: true, fields: [{ field: 'CLNTNUM', type: 'string' }] }],
};
const envelope = (payload: string) => `{"schema":${JSON.stringify(schema)},"payload":${payload}}`;
const change = (id: string, op = 'r') =>
  JSON.stringify({ before: null, after: { CLNTNUM: id, NOTE: '中文 \\ "quoted" }' }, source: { ts_ms: 1 }, op });

/** What a full parse gives: the payload of an envelope, or the document; or the error's message. */
function reference(text: string): unknown {
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    return doc !== null && typeof doc === 'object' && 'schema' in doc && 'payload' in doc ? doc.payload : doc;
  } catch {
    return 'UNPARSEABLE';
  }
}
function parsed(text: string): unknown {
  try {
    return parseUnwrapped(Buffer.from(text), 'value');
  } catch (e) {
    expect(e).toBeInstanceOf(MappingError);
    return (e as MappingError).code;
  }
}

describe('schema envelopes', () => {
  it('gives the payload of each message once the schema is known, the same as a full parse', () => {
    // The first message teaches the schema; the later ones take the short path.
    for (const id of ['C1', 'C2', 'C3']) {
      const text = envelope(change(id));
      expect(parsed(text)).toEqual(reference(text));
    }
    // … parsing only the payload: the schema is not parsed again.
    const spy = vi.spyOn(JSON, 'parse');
    const decoded = parseDebeziumValue(Buffer.from(envelope(change('C4', 'u'))));
    expect(spy.mock.calls.map(([text]) => String(text).startsWith('{"schema"'))).toEqual([false]);
    spy.mockRestore();
    expect(decoded?.op).toBe('u');
    expect(decoded?.after).toEqual({ CLNTNUM: 'C4', NOTE: '中文 \\ "quoted" }' });
  });

  it('falls back to the whole message on anything a short parse would get wrong', () => {
    parsed(envelope(change('C0'))); // the schema is known from here on
    const cases = [
      `${envelope(change('C5'))}\n`, // trailing whitespace
      envelope(`${change('C6')},"payload":${change('C7')}`), // a second payload member: the last one wins
      envelope(`${change('C8')},"extra":1`), // another member after the payload
      `${envelope(change('C9'))}}`, // an extra closing brace
      envelope(change('C10')).slice(0, -1), // the closing brace missing
      envelope(change('C11')).slice(0, -2), // cut short
      envelope('null'),
      envelope('"text"'),
      envelope('{}'),
      `{"schema":${JSON.stringify(schema)}}`, // no payload at all
      `{"schema":${JSON.stringify(schema)},"payload":}`,
      `{"schema":${JSON.stringify(schema)},"payload" : ${change('C12')}}`, // spaced: not the remembered bytes
    ];
    for (const text of cases) expect(parsed(text), text).toEqual(reference(text));
  });

  it('reads envelopes whose schema text is not compact, and bare payloads', () => {
    const spaced = `{ "schema": ${JSON.stringify(schema, null, 2)}, "payload": ${change('C13')} }`;
    expect(parsed(spaced)).toEqual(reference(spaced));
    expect(parsed(spaced)).toEqual(reference(spaced));
    expect(parsed(change('C14'))).toEqual(reference(change('C14')));
  });
});
