import { describe, expect, it } from 'vitest';
import { personAttributes } from '../../src/connectors/framework/party-builder.ts';
import type { PartyAttributes } from '../../src/domain/canonical.ts';
import { isStale, type PartyChange } from '../../src/sync/party-batch-types.ts';
import { compareRecords, contentHash, equalVersionReplaces } from '../../src/sync/record-order.ts';
import { survive, type SurvivorCandidate } from '../../src/sync/survivorship.ts';

const person = (name: string, mobile: string | null = null): PartyAttributes =>
  personAttributes({ name, idType: null, idNumber: null, mobile });
const at = '2026-03-01T08:00:00Z';
const cand = (id: string, sourceId: string, a: PartyAttributes, system = 'billing'): SurvivorCandidate => ({
  sourceRecordId: id,
  system,
  sourceId,
  sourceTime: new Date(at),
  attributes: a,
});

describe('record order (ties broken on content, never on arrival)', () => {
  it('hashes the content, not the object: key order and undefined fields do not matter', () => {
    const a = person('王小明', '13800138000');
    const b = JSON.parse(JSON.stringify(a)) as PartyAttributes;
    const reordered = Object.fromEntries(Object.entries(b).reverse()) as PartyAttributes;
    expect(contentHash(reordered)).toBe(contentHash(a));
    expect(contentHash({ ...a, extra: undefined } as PartyAttributes)).toBe(contentHash(a));
    expect(contentHash(person('王晓明'))).not.toBe(contentHash(a));
  });

  it('survivorship picks the same value of two equally recent records whatever their generated ids', () => {
    const x = person('王小明');
    const y = person('王曉明');
    // The same two records, their ids generated in the opposite order (as in two stores of the same messages).
    const first = survive([cand('00000001', 'A', x), cand('00000002', 'B', y)]);
    const second = survive([cand('00000002', 'A', x), cand('00000001', 'B', y)]);
    const swapped = survive([cand('00000002', 'B', y), cand('00000001', 'A', x)]);
    expect(second.values.displayName).toBe(first.values.displayName);
    expect(swapped.values.displayName).toBe(first.values.displayName);
    expect(first.lineage.displayName?.sourceId).toBe(
      compareRecords(cand('', 'A', x), cand('', 'B', y)) < 0 ? 'A' : 'B',
    );
  });

  it('of two payloads with one version the same one is kept in either order of arrival; a repeat is stale', () => {
    const x = person('王小明', '13800138000');
    const y = person('王小明', '13900139000');
    const change = (a: PartyAttributes): PartyChange =>
      ({
        entity: 'party',
        op: 'upsert',
        system: 'billing',
        sourceId: 'RESIDENT_ID:1',
        raw: {},
        attributes: a,
        sourceVersion: '100',
        sourceTime: null,
      }) as PartyChange;
    const stored = (a: PartyAttributes) => ({ version: 100n, deleted: false, attributes: a });
    // Arrival x then y, and y then x: exactly one of the two replaces the other, so both orders end on one payload.
    const yOverX = !isStale(stored(x), change(y));
    const xOverY = !isStale(stored(y), change(x));
    expect(yOverX).not.toBe(xOverY);
    expect(yOverX).toBe(equalVersionReplaces(x, y));
    expect(isStale(stored(x), change(x))).toBe(true);
    // Versions still come first.
    expect(isStale({ ...stored(x), version: 101n }, change(y))).toBe(true);
    expect(isStale({ ...stored(x), version: 99n }, change(y))).toBe(false);
    // An upsert of the same version as a stored delete wins, and a delete of the same version as an upsert is
    // stale: the upsert is kept in either order.
    expect(isStale({ ...stored(x), deleted: true }, change(y))).toBe(false);
    expect(isStale(stored(x), { ...change(y), op: 'delete' } as PartyChange)).toBe(true);
  });
});

describe('contact points', () => {
  it('an empty or blank phone or e-mail is no contact point (and so no match evidence)', () => {
    for (const empty of ['', ' ', '\u3000', '  \t ', '\u200b'])
      expect(personAttributes({ name: '王小明', mobile: empty, email: empty }).contactPoints).toEqual([]);
    expect(personAttributes({ name: '王小明', mobile: '13800138000' }).contactPoints).toHaveLength(1);
  });
});
