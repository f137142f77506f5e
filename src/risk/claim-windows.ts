import type { Claim } from './alert-types.ts';

/**
 * Windows anchored on events, not on the clock. "Did this customer claim six times within a year?" is asked of
 * the claims' own dates: every window of `windowDays` that starts at a claim's date is examined, among the
 * claims of the look-back (measured back from today, default three years). A history loaded or replayed later,
 * a claim arriving late, or a backfill therefore gives the same finding as live streaming did — where a window
 * counted back from the wall clock found nothing once the burst was more than a window old.
 *
 * A claim's date is its incident date; one without (not yet known to the claims system) counts by the day it
 * was reported.
 */
export const claimDate = (c: Claim): string | null =>
  c.incident ?? (c.reported ? c.reported.toISOString().slice(0, 10) : null);

const dayNumber = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

/**
 * The best window: the one whose `score` is highest (ties: the earliest), with its claims, or null when no claim
 * has a date in the look-back. `score` sums what the rule counts (1 per claim, or the amount paid).
 */
export function bestWindow(
  claims: readonly Claim[],
  windowDays: number,
  lookBackDays: number,
  score: (c: Claim) => number,
  today = new Date(),
): { claims: Claim[]; total: number; from: string; to: string } | null {
  const horizon = dayNumber(today.toISOString().slice(0, 10)) - lookBackDays;
  const dated = claims
    .map((c) => ({ c, date: claimDate(c) }))
    .filter((x): x is { c: Claim; date: string } => x.date !== null && dayNumber(x.date) >= horizon)
    .sort((a, b) => a.date.localeCompare(b.date) || a.c.key.localeCompare(b.c.key));
  let best: { claims: Claim[]; total: number; from: string; to: string } | null = null;
  let end = 0;
  let total = 0;
  // Two pointers over the sorted dates: [start, end) holds the claims within windowDays of the start's date.
  for (let start = 0; start < dated.length; start += 1) {
    const first = dated[start] as { c: Claim; date: string };
    const limit = dayNumber(first.date) + windowDays;
    while (end < dated.length && dayNumber((dated[end] as { date: string }).date) < limit) {
      total += score((dated[end] as { c: Claim }).c);
      end += 1;
    }
    if (best === null || total > best.total) {
      const inWindow = dated.slice(start, end);
      best = {
        claims: inWindow.map((x) => x.c),
        total,
        from: first.date,
        to: (inWindow[inWindow.length - 1] as { date: string }).date,
      };
    }
    total -= score(first.c);
  }
  return best;
}
