import { describe, expect, it } from 'vitest';
import { type Mapped, sliceByKeyLocks } from '../../src/ingest/apply-batch.ts';
import type { SourceMessage } from '../../src/connectors/framework/connector.ts';
import type { SyncDeps } from '../../src/sync/apply-changes.ts';
import type { CanonicalChange } from '../../src/domain/canonical.ts';

/**
 * How ingest cuts a group of partitions' messages into transactions that each take at most a budget of
 * advisory locks (one per source record and per blocking key of its party changes).
 */
// The matcher's blocking keys of a record are given with the record here (`attributes.keys`).
const deps = {
  matcher: { keys: (a: { keys: string[] }) => a.keys },
  oversized: new Set(['huge-block']),
} as unknown as SyncDeps;

const message = (offset: number): SourceMessage => ({ offset: String(offset) }) as SourceMessage;
const client = (offset: number, keys: string[]): Mapped => ({
  message: message(offset),
  changes: [
    { entity: 'party', op: 'upsert', system: 'S', sourceId: `c${offset}`, attributes: { keys } },
  ] as unknown as CanonicalChange[],
});
const payment = (offset: number): Mapped => ({
  message: message(offset),
  changes: [{ entity: 'activity', op: 'upsert' }] as unknown as CanonicalChange[],
});
const unreadable = (offset: number): Mapped => ({ message: message(offset), error: { code: 'X', reason: 'bad' } });

const offsets = (slices: ReturnType<typeof sliceByKeyLocks>) =>
  slices.map((s) => s.map((r) => `${r.part}:${r.mapped.map((m) => m.message.offset).join(',')}`));

/** The distinct locks a slice takes: each party change's record and its keys not remembered as too big. */
const locksOf = (slice: ReturnType<typeof sliceByKeyLocks>[number]) =>
  new Set(
    slice
      .flatMap((r) =>
        r.mapped.flatMap((m) =>
          'changes' in m
            ? m.changes.flatMap((c) =>
                c.entity === 'party' && c.op === 'upsert'
                  ? [`record:${c.sourceId}`, ...(c.attributes as unknown as { keys: string[] }).keys]
                  : [],
              )
            : [],
        ),
      )
      .filter((k) => k !== 'huge-block'),
  );

describe('slicing a group of messages by the advisory locks it takes', () => {
  it('keeps a group within the budget whole', () => {
    const mapped = [[client(0, ['a', 'b']), payment(1)], [client(5, ['b', 'c'])]];
    expect(offsets(sliceByKeyLocks(mapped, deps, 10))).toEqual([['0:0,1', '1:5']]);
  });

  it('cuts at message boundaries, in order, each message once, each transaction within the budget', () => {
    const mapped = [
      [client(0, ['a', 'b']), client(1, ['c', 'd']), payment(2), client(3, ['e', 'f'])],
      [unreadable(7), client(8, ['g', 'h']), client(9, ['i'])],
    ];
    const slices = sliceByKeyLocks(mapped, deps, 6);
    // 3 locks a client (its record and two keys): two clients a transaction; a payment or an unreadable
    // message takes none and stays where it is.
    expect(offsets(slices)).toEqual([['0:0,1,2'], ['0:3', '1:7,8'], ['1:9']]);
    for (const s of slices) expect(locksOf(s).size).toBeLessThanOrEqual(6);
  });

  it('counts a key shared within a transaction once, and not the blocks remembered as too big', () => {
    const mapped = [[client(0, ['family:li', 'huge-block', 'x']), client(1, ['family:li', 'huge-block', 'y'])]];
    // 3 + 2 distinct locks: both clients fit a budget of 5.
    expect(offsets(sliceByKeyLocks(mapped, deps, 5))).toEqual([['0:0,1']]);
    expect(offsets(sliceByKeyLocks(mapped, deps, 4))).toEqual([['0:0'], ['0:1']]);
  });

  it('applies a message whose own locks exceed the budget alone rather than splitting it', () => {
    const mapped = [[client(0, ['a']), client(1, ['b', 'c', 'd', 'e']), client(2, ['f'])]];
    expect(offsets(sliceByKeyLocks(mapped, deps, 3))).toEqual([['0:0'], ['0:1'], ['0:2']]);
  });
});
