import { describe, expect, it } from 'vitest';
import { mapWebApp } from '../../src/connectors/web-app/index.ts';
import type { PartyUpsert } from '../../src/domain/canonical.ts';
import { emptyFold, foldEvent, foldedAttributes, type AttributeVersions } from '../../src/domain/event-fold.ts';
import { stableJson } from '../../src/domain/stable-json.ts';

/** The party change of one app event, through the real web-app mapping. */
function appEvent(e: Record<string, unknown>): PartyUpsert {
  const [change] = mapWebApp({
    topic: 'app.customer-events.v1',
    partition: 0,
    offset: '0',
    key: Buffer.from('U1'),
    value: Buffer.from(JSON.stringify({ userId: 'U1', consent: null, ...e })),
    timestamp: null,
  });
  if (change?.entity !== 'party' || change.op !== 'upsert') throw new Error('expected a party upsert');
  return change;
}

const registered = appEvent({
  eventId: 'W1',
  type: 'REGISTERED',
  at: '2026-11-02T12:00:00+08:00',
  mobile: '13800138000',
  email: 'old@example.cn',
});
const profile = appEvent({
  eventId: 'W2',
  type: 'PROFILE_UPDATED',
  at: '2026-11-03T09:00:00+08:00',
  name: '王晓明',
  email: 'wxm@example.cn',
  mobile: null,
});
const verified = appEvent({
  eventId: 'W3',
  type: 'REAL_NAME_VERIFIED',
  at: '2026-11-04T10:00:00+08:00',
  name: '王小明',
  idNumber: '110105198503071234',
});
const moved = appEvent({
  eventId: 'W4',
  type: 'PROFILE_UPDATED',
  at: '2026-11-05T10:00:00+08:00',
  mobile: '+86 139 0013 9000',
});

const fold = (events: readonly PartyUpsert[], start: AttributeVersions = emptyFold()) =>
  events.reduce(
    (s, c) =>
      foldEvent(s, {
        attributes: c.attributes,
        sourceVersion: c.sourceVersion,
        sourceTime: c.sourceTime,
        eventId: c.eventId ?? null,
      }),
    start,
  );

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('fold of change events', () => {
  it('keeps what an event leaves out: the mobile registered before a profile update and a verification', () => {
    const a = foldedAttributes(fold([registered, profile, verified]));
    expect(a.contactPoints.map((c) => [c.kind, c.searchKey])).toEqual([
      ['EMAIL', 'wxm@example.cn'],
      ['MOBILE', '13800138000'],
    ]);
    expect(a.fullName).toBe('王小明');
    expect(a.identifiers.map((i) => [i.type, i.value])).toEqual([['RESIDENT_ID', '110105198503071234']]);
  });

  it('gives the same state for all 24 arrival orders of four events', () => {
    const orders = permutations([registered, profile, verified, moved]);
    expect(orders).toHaveLength(24);
    const states = new Set(orders.map((o) => stableJson(fold(o))));
    expect(states.size).toBe(1);
    const state = fold(orders[0] as PartyUpsert[]);
    const a = foldedAttributes(state);
    expect(a.contactPoints.map((c) => [c.kind, c.searchKey])).toEqual([
      ['EMAIL', 'wxm@example.cn'],
      ['MOBILE', '13900139000'],
    ]);
    expect(a.fullName).toBe('王小明');
    // Each value names the event that gave it.
    expect(Object.fromEntries(Object.entries(state.fields).map(([k, e]) => [k, e.eventId]))).toEqual({
      kind: 'W4',
      name: 'W3',
      'identifier:RESIDENT_ID': 'W3',
      'contact:EMAIL': 'W2',
      'contact:MOBILE': 'W4',
    });
  });

  it('gives the same state for every order of three events, also when each arrives twice', () => {
    const events = [registered, profile, verified];
    const once = new Set(permutations(events).map((o) => stableJson(fold(o))));
    const twice = new Set(permutations(events).map((o) => stableJson(fold([...o, ...o.toReversed()]))));
    expect(once.size).toBe(1);
    expect([...twice]).toEqual([...once]);
  });

  it('breaks a tie of versions by event id, not by arrival', () => {
    const a = appEvent({
      eventId: 'A',
      type: 'PROFILE_UPDATED',
      at: '2026-11-03T09:00:00+08:00',
      email: 'a@example.cn',
    });
    const b = appEvent({
      eventId: 'B',
      type: 'PROFILE_UPDATED',
      at: '2026-11-03T09:00:00+08:00',
      email: 'b@example.cn',
    });
    expect(stableJson(fold([a, b]))).toBe(stableJson(fold([b, a])));
    expect(foldedAttributes(fold([b, a])).contactPoints[0]?.value).toBe('b@example.cn');
  });

  it('folds nothing at or below the floor a delete left', () => {
    const afterDelete = emptyFold(verified.sourceVersion);
    expect(fold([registered, profile, verified], afterDelete)).toEqual(afterDelete);
    expect(Object.keys(fold([registered, moved], afterDelete).fields).sort()).toEqual(['contact:MOBILE', 'kind']);
  });
});
