import type { Comparison } from './comparisons.ts';
import type { MatchRecord } from './match-record.ts';

/**
 * Fellegi-Sunter scoring. For each comparison level, m = P(level | match) and u = P(level | non-match);
 * a pair's match weight is log2(λ/(1-λ)) + Σ log2(m/u) over its comparisons, and its match probability
 * 2^w / (1 + 2^w). u is estimated from random record pairs (almost all non-matches), m and λ by
 * expectation-maximisation over the candidate pairs, as Splink does; exact agreements on common values weigh
 * less than on rare ones (term-frequency adjustment). Nothing is tuned per data set.
 */
export type LevelParams = { m: number; u: number };
export type ModelParams = {
  lambda: number;
  comparisons: { name: string; levels: { label: string; m: number; u: number }[] }[];
};

export type Explanation = { comparison: string; level: string; weight: number }[];

const floor = 1e-6;
const clamp = (p: number) => Math.min(1 - floor, Math.max(floor, p));

export class FellegiSunterModel {
  readonly comparisons: readonly Comparison[];
  lambda = 1e-4;
  m: number[][];
  u: number[][];
  /** Per comparison with a tfValue: value → relative frequency among records. */
  private readonly tf: (Map<string, number> | null)[];

  constructor(comparisons: readonly Comparison[], records: readonly MatchRecord[]) {
    this.comparisons = comparisons;
    // Starting m: strong agreement likely for matches, disagreement unlikely.
    this.m = comparisons.map((c) =>
      c.levels.map((_, i) => (i === c.levels.length - 1 ? 0.05 : 0.95 / (c.levels.length - 1) / (i + 1))),
    );
    this.u = comparisons.map((c) =>
      c.levels.map((_, i) => (i === c.levels.length - 1 ? 0.95 : 0.05 / (c.levels.length - 1))),
    );
    this.tf = comparisons.map((c) => {
      if (!c.tfValue) return null;
      const counts = new Map<string, number>();
      let total = 0;
      for (const r of records) {
        const v = c.tfValue(r);
        if (v === null) continue;
        counts.set(v, (counts.get(v) ?? 0) + 1);
        total += 1;
      }
      const freq = new Map<string, number>();
      for (const [v, k] of counts) freq.set(v, k / total);
      return freq;
    });
  }

  levelsOf(a: MatchRecord, b: MatchRecord): (number | null)[] {
    return this.comparisons.map((c) => c.compare(a, b));
  }

  /** u from random pairs: with many records almost every random pair is a non-match. */
  estimateU(records: readonly MatchRecord[], samples = 200_000, seed = 42): void {
    const counts = this.comparisons.map((c) => c.levels.map(() => 1));
    let s = seed >>> 0;
    const rand = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const n = records.length;
    if (n < 2) return;
    const count = (a: MatchRecord, b: MatchRecord) => {
      this.comparisons.forEach((c, ci) => {
        const level = c.compare(a, b);
        if (level !== null) (counts[ci] as number[])[level] = ((counts[ci] as number[])[level] ?? 0) + 1;
      });
    };
    if ((n * (n - 1)) / 2 <= 10 * samples) {
      // Small data: every pair, exactly (sampling noise would dominate the rare levels).
      for (let i = 0; i < n; i += 1)
        for (let j = i + 1; j < n; j += 1) count(records[i] as MatchRecord, records[j] as MatchRecord);
    } else {
      for (let k = 0; k < samples; k += 1) {
        const a = records[Math.floor(rand() * n)] as MatchRecord;
        const b = records[Math.floor(rand() * n)] as MatchRecord;
        if (a !== b) count(a, b);
      }
    }
    this.u = counts.map((row) => {
      const total = row.reduce((x, y) => x + y, 0);
      return row.map((v) => clamp(v / total));
    });
  }

  /**
   * Seeds m from pairs that are matches beyond reasonable doubt (the same valid id number together with the
   * same phone or birth date). EM started from neutral values can settle on the wrong mixture — e.g. "pairs
   * with the same common given name" — when most candidate pairs share a name; a labelled start prevents it.
   */
  seedM(
    vectors: readonly (number | null)[][],
    isCertain: (v: readonly (number | null)[]) => boolean,
    minPairs = 30,
  ): number {
    const counts = this.comparisons.map((c) => c.levels.map(() => 0.5));
    let certain = 0;
    for (const v of vectors) {
      if (!isCertain(v)) continue;
      certain += 1;
      v.forEach((level, ci) => {
        if (level !== null) (counts[ci] as number[])[level] = ((counts[ci] as number[])[level] as number) + 1;
      });
    }
    if (certain < minPairs) return certain;
    this.m = counts.map((row, ci) => {
      const total = row.reduce((x, y) => x + y, 0);
      // A comparison the certain pairs never observed keeps its default start.
      return total <= row.length ? (this.m[ci] as number[]) : row.map((x) => clamp(x / total));
    });
    return certain;
  }

  /**
   * EM over candidate pairs' comparison vectors: estimates m and λ with u held fixed. Runs over the distinct
   * comparison patterns with their counts (a few thousand at most), so it costs nothing at any data size.
   */
  estimateM(
    vectors: readonly (number | null)[][],
    totalPairs: number,
    iterations = 25,
    startLambda = 0.1,
    fixed: ReadonlySet<number> = new Set(),
  ): void {
    if (vectors.length === 0) return;
    const patterns = new Map<string, { v: readonly (number | null)[]; n: number }>();
    for (const v of vectors) {
      const key = v.join(',');
      const entry = patterns.get(key);
      if (entry) entry.n += 1;
      else patterns.set(key, { v, n: 1 });
    }
    let lambda = startLambda;
    for (let it = 0; it < iterations; it += 1) {
      const mCounts = this.comparisons.map((c) => c.levels.map(() => 1e-3));
      let sumP = 0;
      const logPrior = Math.log2(lambda / (1 - lambda));
      for (const { v, n } of patterns.values()) {
        let w = logPrior;
        v.forEach((level, ci) => {
          if (level === null) return;
          w += Math.log2(((this.m[ci] as number[])[level] as number) / ((this.u[ci] as number[])[level] as number));
        });
        const p = (1 / (1 + 2 ** -w)) * n;
        sumP += p;
        v.forEach((level, ci) => {
          if (level !== null) (mCounts[ci] as number[])[level] = ((mCounts[ci] as number[])[level] as number) + p;
        });
      }
      lambda = clamp(sumP / vectors.length);
      this.m = mCounts.map((row, ci) => {
        if (fixed.has(ci)) return this.m[ci] as number[];
        const total = row.reduce((x, y) => x + y, 0);
        return row.map((x) => clamp(x / total));
      });
    }
    // λ over all possible pairs, not only candidates: the prior a new pair is scored with.
    this.lambda = clamp((lambda * vectors.length) / Math.max(totalPairs, vectors.length));
  }

  /** Match weight (log2 odds) of a pair, with the per-comparison contributions when asked for. */
  score(
    a: MatchRecord,
    b: MatchRecord,
    explain = false,
    levels: readonly (number | null)[] = this.levelsOf(a, b),
  ): { weight: number; probability: number; explanation: Explanation | null } {
    let weight = Math.log2(this.lambda / (1 - this.lambda));
    const explanation: Explanation | null = explain
      ? [{ comparison: 'prior', level: 'λ', weight: Math.round(weight * 100) / 100 }]
      : null;
    this.comparisons.forEach((c, ci) => {
      const level = levels[ci] ?? null;
      if (level === null) return;
      const m = (this.m[ci] as number[])[level] as number;
      let u = (this.u[ci] as number[])[level] as number;
      const tf = this.tf[ci];
      if (level === 0 && tf && c.tfValue) {
        const f = tf.get(c.tfValue(a) ?? '');
        // Rare values are stronger evidence than common ones; never weaker than the average exact agreement
        // by more than the data says.
        if (f !== undefined) u = clamp(Math.max(f, floor));
      }
      const w = Math.log2(m / u);
      weight += w;
      explanation?.push({ comparison: c.name, level: c.levels[level] as string, weight: Math.round(w * 100) / 100 });
    });
    return { weight, probability: 1 / (1 + 2 ** -weight), explanation };
  }

  /**
   * A model from stored parameters (streaming matching: the parameters come from configuration or from a
   * `match-file --model-out` training run, not from the record in hand). No term-frequency table.
   */
  static fromParams(comparisons: readonly Comparison[], params: ModelParams): FellegiSunterModel {
    const model = new FellegiSunterModel(comparisons, []);
    model.lambda = params.lambda;
    comparisons.forEach((c, ci) => {
      const stored = params.comparisons.find((p) => p.name === c.name);
      if (!stored || stored.levels.length !== c.levels.length)
        throw new Error(`match model has no parameters for comparison ${c.name} with ${c.levels.length} levels`);
      // Smoothing: no agreement level is treated as (nearly) impossible for a true match just because the
      // training data never showed it — real sources have typos that synthetic training data may lack.
      const smoothed = stored.levels.map((l) => Math.max(l.m, 0.01));
      const total = smoothed.reduce((x, y) => x + y, 0);
      (model.m as number[][])[ci] = smoothed.map((m) => m / total);
      (model.u as number[][])[ci] = stored.levels.map((l) => l.u);
    });
    return model;
  }

  params(): ModelParams {
    return {
      lambda: this.lambda,
      comparisons: this.comparisons.map((c, ci) => ({
        name: c.name,
        levels: c.levels.map((label, li) => ({
          label,
          m: (this.m[ci] as number[])[li] as number,
          u: (this.u[ci] as number[])[li] as number,
        })),
      })),
    };
  }
}
