import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../../src/risk/alert-rules.ts';
import type { Claim, Context, Rule } from '../../../src/risk/alert-types.ts';
import { bestWindow } from '../../../src/risk/claim-windows.ts';

const context: Context = { policies: new Map(), shared: new Map() };
const rule = (kind: string, params: Record<string, unknown>): Rule => ({
  code: kind,
  kind,
  params,
  points: 40,
  version: 1,
});
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const claim = (key: string, incidentDaysAgo: number, paid = 0): Claim => ({
  key,
  policy_no: 'P1',
  reported: new Date(Date.now() - (incidentDaysAgo - 2) * 86_400_000),
  incident: daysAgo(incidentDaysAgo),
  paid,
  claimed: paid,
  status: 'PAID',
});
const facts = (claims: Claim[]) => ({ claims, payments: [], bankAccounts: [] });

describe('claim windows anchored on the claims, not on the clock', () => {
  it('finds a burst of six claims 14 months ago, which a window counted back from today missed', () => {
    const burst = [430, 420, 410, 400, 395, 390].map((d, i) => claim(`C${i}`, d));
    const f = evaluateRule('p', rule('CLAIMS_IN_WINDOW', { windowDays: 365, minClaims: 6 }), facts(burst), context);
    expect(f?.evidence).toMatchObject({
      claims: ['C0', 'C1', 'C2', 'C3', 'C4', 'C5'],
      from: daysAgo(430),
      to: daysAgo(390),
    });
  });

  it('does not add up claims further apart than the window, and ignores claims beyond the look-back', () => {
    const spread = [1090, 690, 290].map((d, i) => claim(`S${i}`, d));
    expect(
      evaluateRule('p', rule('CLAIMS_IN_WINDOW', { windowDays: 365, minClaims: 2 }), facts(spread), context),
    ).toBeNull();
    const old = [1500, 1490, 1480].map((d, i) => claim(`O${i}`, d));
    expect(
      evaluateRule('p', rule('CLAIMS_IN_WINDOW', { windowDays: 365, minClaims: 3 }), facts(old), context),
    ).toBeNull();
    expect(
      evaluateRule(
        'p',
        rule('CLAIMS_IN_WINDOW', { windowDays: 365, minClaims: 3, lookBackDays: 2000 }),
        facts(old),
        context,
      ),
    ).not.toBeNull();
  });

  it('sums what was paid in the best window for CUMULATIVE_PAID, whatever the arrival order', () => {
    const claims = [claim('A', 900, 30_000), claim('B', 800, 50_000), claim('C', 500, 40_000), claim('D', 100, 10_000)];
    const p = { windowDays: 730, minPaid: 100_000 };
    const f = evaluateRule('p', rule('CUMULATIVE_PAID', p), facts(claims), context);
    expect(f?.evidence).toMatchObject({ claims: ['A', 'B', 'C'], paid: '120000.00' });
    expect(evaluateRule('p', rule('CUMULATIVE_PAID', p), facts([...claims].reverse()), context)).toEqual(f);
  });

  it('picks the earliest of equally good windows', () => {
    const w = bestWindow([claim('X', 300), claim('Y', 100)], 30, 1095, () => 1);
    expect(w?.claims.map((c) => c.key)).toEqual(['X']);
  });
});
