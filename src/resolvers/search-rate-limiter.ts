import { DomainError } from '../domain/errors.ts';

/**
 * Searches by identifier per caller (token subject): a token bucket refilled at `perMinute`, holding at most
 * `perMinute` — enough for an agent's screen, far too few to enumerate resident ids or phone numbers.
 */
export class SearchRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMinute: number;
  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  take(subject: string): void {
    const now = performance.now();
    const b = this.buckets.get(subject) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(subject, b);
      throw new DomainError(
        'RATE_LIMITED',
        `too many searches by identifier: at most ${this.perMinute} a minute per caller; try again shortly`,
      );
    }
    b.tokens -= 1;
    this.buckets.set(subject, b);
    // Forget callers whose bucket is full again, so the map does not grow with every token ever seen.
    if (this.buckets.size > 10_000)
      for (const [k, v] of this.buckets)
        if (v.tokens + ((now - v.at) / 60_000) * this.perMinute >= this.perMinute) this.buckets.delete(k);
  }
}
