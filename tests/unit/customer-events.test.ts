import { describe, expect, it } from 'vitest';
import { customerEventOf } from '../../src/sync/customer-events.ts';

/** Which event a golden-record version becomes on hub.customers.v1 (docs/events.md). */
const a = '11111111-1111-4111-8111-111111111111';
const b = '22222222-2222-4222-8222-222222222222';
const base = { partyId: a, version: 3, detail: {}, status: 'ACTIVE' };

describe('customer change events', () => {
  it('names each kind of version by what happened', () => {
    expect(
      customerEventOf({ ...base, cause: 'CREATED', created: true, changedAttributes: ['displayName'] }),
    ).toMatchObject({ type: 'CREATED', customerId: a, version: 3, changedAttributes: ['displayName'] });
    expect(customerEventOf({ ...base, cause: 'UNMERGE', created: true, detail: { splitFrom: b } })).toMatchObject({
      type: 'CREATED',
      splitFrom: b,
    });
    expect(customerEventOf({ ...base, cause: 'UNMERGE', detail: { splitInto: [b], why: 'x' } })).toMatchObject({
      type: 'SPLIT',
      splitInto: [b],
    });
    expect(customerEventOf({ ...base, cause: 'STEWARD_ACTION', detail: { splitRecord: 'r', to: b } })).toMatchObject({
      type: 'SPLIT',
      splitInto: [b],
    });
    expect(customerEventOf({ ...base, status: 'MERGED', cause: 'MERGED_INTO', detail: { survivor: b } })).toMatchObject(
      { type: 'MERGED', survivorId: b, status: 'MERGED' },
    );
    expect(customerEventOf({ ...base, cause: 'MERGE', detail: { merged: b } })).toMatchObject({
      type: 'UPDATED',
      mergedIds: [b],
    });
    expect(customerEventOf({ ...base, status: 'INACTIVE', cause: 'DEACTIVATED' })).toMatchObject({ type: 'RETIRED' });
    expect(customerEventOf({ ...base, status: 'ERASED', cause: 'ERASED', detail: { by: 'x' } })).toMatchObject({
      type: 'ERASED',
    });
    expect(customerEventOf({ ...base, cause: 'SOURCE_CHANGE', detail: { record: 'core-policy/C1' } })).toEqual({
      schemaVersion: 1,
      eventId: expect.any(String),
      type: 'UPDATED',
      customerId: a,
      version: 3,
      status: 'ACTIVE',
      cause: 'SOURCE_CHANGE',
      occurredAt: expect.any(String),
      changedAttributes: [],
      sourcesChanged: [],
    });
  });

  it('carries no detail text: a record key in the detail never reaches the event', () => {
    const e = customerEventOf({
      ...base,
      cause: 'SOURCE_CHANGE',
      detail: { record: 'billing/RESIDENT_ID:110105199001011234' },
    });
    expect(JSON.stringify(e)).not.toContain('110105');
  });
});
