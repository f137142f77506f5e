import { type Row } from '../connectors/core-policy/fixtures/events.ts';
import { type Place } from './places.ts';
import { DEMO_CUSTOMER, pad, type Person } from './core-policy-values.ts';
import { seeded, type Random } from './random.ts';

/**
 * The state the phases of the core-policy demo generator share: one seeded random stream (drawn from in a fixed
 * order, so the same seed gives the same data), the clock that stamps change events, and a source of mobiles
 * no one else has.
 */
export type CoreGen = {
  r: Random;
  clientCount: number;
  policyCount: number;
  /** DTEUPD of the snapshot row at `minutes` after 2026-10-01 09:00. */
  at(minutes: number): number;
  /** The next change's DTEUPD (one minute after the previous one). */
  later(): number;
  /** The minute the last change was stamped at. */
  clock(): number;
  freshMobile(): string;
  address(place: Place): Row;
};

export function newCoreGen(opts: { seed?: number; clients?: number; policies?: number }): CoreGen {
  const r = seeded(opts.seed ?? 20261122);
  const clientCount = opts.clients ?? 300;
  const policyCount = opts.policies ?? 400;
  const base = Date.parse('2026-10-01T09:00:00+08:00') * 1000;
  const at = (minutes: number) => base + minutes * 60_000_000;
  // Snapshot rows are stamped one minute apart from 2026-10-01 09:00; changes follow a week later (or after
  // the last snapshot row for large data sets), one minute apart, in stream order.
  let clock = Math.max(7 * 24 * 60, 2 * clientCount + policyCount + 60);
  const later = () => at((clock += 1));

  const people: Person[] = [];
  const duplicates: Person[] = [];
  const usedMobiles = new Set<string>([DEMO_CUSTOMER.mobile]);
  const freshMobile = (): string => {
    for (;;) {
      const m = `1${r.weighted([
        ['3', 35],
        ['5', 20],
        ['7', 8],
        ['8', 30],
        ['9', 7],
      ])}${pad(r.int(0, 999999999), 9)}`;
      if (!usedMobiles.has(m) && !/^1(\d)\1{9}$/.test(m)) {
        usedMobiles.add(m);
        return m;
      }
    }
  };
  const address = (place: Place): Row => ({
    ADDR1: place.district,
    ADDR2: `${r.pick(place.streets)}${r.int(1, 300)}号`,
    ADDR3: r.chance(0.7) ? `${r.int(1, 30)}栋${r.int(1, 30)}${pad(r.int(1, 8), 2)}室` : null,
    POSTCODE: place.post,
  });

  return { r, clientCount, policyCount, at, later, clock: () => clock, freshMobile, address };
}
