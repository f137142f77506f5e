const DAY = 86_400_000;

/**
 * A moment `n` days before today's UTC date, at noon in Shanghai (04:00 UTC): the same calendar date in UTC and
 * in Asia/Shanghai. The rules count days between Shanghai business dates (a policy's reinstatement timestamp is
 * taken as its Shanghai date); a fixture timestamp at the current time of day lands on the next Shanghai date
 * from 16:00 UTC on, one day off the UTC dates the fixtures compute for incidents.
 */
export const shanghaiNoonDaysAgo = (n: number, now = Date.now()): number =>
  (Math.floor(now / DAY) - n) * DAY + 4 * 3_600_000;
