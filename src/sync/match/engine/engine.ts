import { candidatePairs, type BlockingStats } from './blocking.ts';
import { defaultComparisons, type Comparison } from './comparisons.ts';
import { FellegiSunterModel, type Explanation } from './fellegi-sunter.ts';
import type { MatchRecord } from './match-record.ts';

/**
 * Batch identity resolution: block → compare → estimate (u from random pairs, m and λ by EM) → score →
 * decide (deterministic rule first, then probability thresholds) → cluster (connected components of matches).
 * The same model, comparisons and thresholds serve every data set: the settings below are the defaults, not
 * tuned per file.
 */
export type Decision = 'MATCH' | 'POSSIBLE_MATCH' | 'NON_MATCH';
export type ScoredPair = {
  a: number;
  b: number;
  probability: number;
  weight: number;
  decision: Decision;
  rule: 'SAME_ID_COMPATIBLE_NAME' | 'PROBABILISTIC';
  explanation?: Explanation;
};

export type EngineSettings = {
  matchThreshold: number;
  reviewThreshold: number;
  maxBlockSize: number;
  comparisons: readonly Comparison[];
  linkOnly: boolean;
  emIterations: number;
  uSamples: number;
  /** Two clusters join when their members' cross pairs score at least this on average (see resolveRecords). */
  clusterThreshold: number;
  /**
   * Decide at the level of the golden record (the default): the conflict rule and whole-cluster joins. Off, the
   * engine clusters connected components of pairwise matches, as it did before — kept for the benchmark's
   * side-by-side comparison.
   */
  decideAsWholes: boolean;
};

export const defaultEngineSettings: EngineSettings = {
  matchThreshold: 0.5,
  reviewThreshold: 0.2,
  maxBlockSize: 100,
  comparisons: defaultComparisons,
  linkOnly: false,
  emIterations: 20,
  uSamples: 60_000,
  clusterThreshold: 0.5,
  decideAsWholes: true,
};

export type ResolveResult = {
  /** Cluster id (index of the cluster's first record) per record index. */
  clusterOf: Int32Array;
  pairs: ScoredPair[];
  blocking: BlockingStats;
  model: FellegiSunterModel;
  timings: Record<string, number>;
};

const residentId = /^\d{17}[\dX]$/;

/**
 * Hard non-match: two different checksum-valid resident id numbers are two people (one person has one number),
 * however much else they share — spouses share a landline, an address, an email.
 */
export function differentResidentIds(a: MatchRecord, b: MatchRecord): boolean {
  return (
    a.idNumber !== null &&
    b.idNumber !== null &&
    a.idNumber !== b.idNumber &&
    residentId.test(a.idNumber) &&
    residentId.test(b.idNumber)
  );
}

/** Level indexes of the comparisons the conflict rule reads (−1 when a comparison set lacks one). */
export type ConflictIndexes = { birthDate: number; sex: number; givenName: number; fullName: number; idNumber: number };
export const conflictIndexesOf = (comparisons: readonly Comparison[]): ConflictIndexes => ({
  birthDate: comparisons.findIndex((c) => c.name === 'birthDate'),
  sex: comparisons.findIndex((c) => c.name === 'sex'),
  givenName: comparisons.findIndex((c) => c.name === 'givenName'),
  fullName: comparisons.findIndex((c) => c.name === 'fullName'),
  idNumber: comparisons.findIndex((c) => c.name === 'idNumber'),
});

/**
 * Strong non-match evidence that a shared phone, e-mail or address must not outweigh: two of — birth dates that
 * are not a typo of each other (neither one or two characters apart nor day and month swapped), different
 * sexes, given names that share nothing (not similar, not the same pinyin, not swapped). A child carrying a
 * parent's mobile, spouses, an agent's mobile on several leads, a switchboard and a recycled number all look
 * like this. Such a pair is at most a possible match, for a steward to decide.
 */
export function strongConflict(levels: readonly (number | null)[], ix: ConflictIndexes): string | null {
  const at = (i: number) => (i < 0 ? null : (levels[i] ?? null));
  // The same identity document number is not shared contact evidence: it decides on its own terms.
  if (at(ix.idNumber) === 0) return null;
  const disagreements = [
    (at(ix.birthDate) ?? 0) >= 5 ? 'BIRTH_DATE' : null,
    (at(ix.sex) ?? 0) >= 1 ? 'SEX' : null,
    (at(ix.givenName) ?? 0) >= 5 || (at(ix.fullName) ?? 0) >= 4 ? 'NAME' : null,
  ].filter((x): x is string => x !== null);
  // Two independent disagreements: one alone is as often a typo or a source's error as another person.
  return disagreements.length >= 2 ? disagreements.join('+') : null;
}

export function resolveRecords(
  records: readonly MatchRecord[],
  overrides: Partial<EngineSettings> = {},
): ResolveResult {
  const settings = { ...defaultEngineSettings, ...overrides };
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - t);
    t = now;
  };

  const { pairs: packed, stats } = candidatePairs(records, {
    maxBlockSize: settings.maxBlockSize,
    linkOnly: settings.linkOnly,
  });
  lap('blocking');
  const model = new FellegiSunterModel(settings.comparisons, records);
  model.estimateU(records, settings.uSamples);
  lap('estimateU');

  const n = records.length;
  const pairList: [number, number][] = [];
  const vectors: (number | null)[][] = [];
  for (const p of packed) {
    const i = Math.floor(p / n);
    const j = p - i * n;
    pairList.push([i, j]);
    vectors.push(model.levelsOf(records[i] as MatchRecord, records[j] as MatchRecord));
  }
  lap('compare');
  const idIndex = settings.comparisons.findIndex((c) => c.name === 'idNumber');
  const phoneIndex = settings.comparisons.findIndex((c) => c.name === 'phone');
  const dobIndex = settings.comparisons.findIndex((c) => c.name === 'birthDate');
  const certain = model.seedM(vectors, (v) => v[idIndex] === 0 && (v[phoneIndex] === 0 || v[dobIndex] === 0));
  // With enough certain matches, their levels are an unbiased estimate of m for every comparison that did not
  // define "certain"; EM then estimates only λ and the m of id, phone and birth date (biased by the selection).
  // Without them (no identifiers in the data) EM estimates everything.
  const definingCertain = new Set([idIndex, phoneIndex, dobIndex]);
  const fixed =
    certain >= 30
      ? new Set(settings.comparisons.map((_, i) => i).filter((i) => !definingCertain.has(i)))
      : new Set<number>();
  model.estimateM(
    vectors,
    (n * (n - 1)) / 2,
    settings.emIterations,
    Math.min(0.5, Math.max(0.01, certain / Math.max(1, vectors.length))),
    fixed,
  );
  lap('estimateM');

  const { clusterOf, pairs: scored } = scoreAndCluster(
    records,
    pairList.map(([i, j], k) => [i, j, vectors[k] as (number | null)[]] as const),
    model,
    settings,
  );
  lap('score+cluster');
  return { clusterOf, pairs: scored, blocking: stats, model, timings };
}

/** A candidate pair of record indexes with its comparison levels (`FellegiSunterModel.levelsOf`). */
export type CandidatePair = readonly [number, number, (number | null)[]];

/**
 * The candidate pairs of a packed pair set (i·n + j), each compared as it is taken: a component of the bulk load
 * can hold hundreds of thousands of records and many times as many pairs, whose levels need not be held at once —
 * only the pairs that score are kept (peak memory of a 30,000-customer bulk load 1,033 → 948 MB).
 */
export function* comparedPairs(
  records: readonly MatchRecord[],
  packed: Iterable<number>,
  model: FellegiSunterModel,
): Generator<CandidatePair> {
  const n = records.length;
  for (const p of packed) {
    const i = Math.floor(p / n);
    const j = p - i * n;
    yield [i, j, model.levelsOf(records[i] as MatchRecord, records[j] as MatchRecord)];
  }
}

/**
 * How one candidate pair is decided before clustering: MATCH (a link clustering may follow), POSSIBLE_MATCH or
 * NON_MATCH, with its weight and probability. Clustering joins records only along MATCH pairs, so the resolution
 * pass walks exactly these links to find what it must cluster together (src/sync/resolve.ts).
 */
export function pairDecider(
  model: FellegiSunterModel,
  settings: EngineSettings,
): (
  a: MatchRecord,
  b: MatchRecord,
  levels?: (number | null)[],
) => { decision: Decision; weight: number; probability: number; sameId: boolean } | null {
  const idIndex = settings.comparisons.findIndex((c) => c.name === 'idNumber');
  const nameIndexes = settings.comparisons
    .map((c, i) => (['givenName', 'familyName', 'fullName'].includes(c.name) ? i : -1))
    .filter((i) => i >= 0);
  const conflicts = conflictIndexesOf(settings.comparisons);
  return (a, b, levels) => {
    if (differentResidentIds(a, b)) return null;
    const v = levels ?? model.levelsOf(a, b);
    const { weight, probability } = model.score(a, b, false, v);
    // Deterministic rule: the same (valid) id number and no name that clearly disagrees.
    const sameId =
      idIndex >= 0 && v[idIndex] === 0 && nameIndexes.every((ni) => v[ni] === null || (v[ni] as number) <= 3);
    const conflict = sameId || !settings.decideAsWholes ? null : strongConflict(v, conflicts);
    const decision: Decision =
      sameId || (probability >= settings.matchThreshold && conflict === null)
        ? 'MATCH'
        : probability >= settings.reviewThreshold
          ? 'POSSIBLE_MATCH'
          : 'NON_MATCH';
    return { decision, weight, probability, sameId };
  };
}

/**
 * Scores candidate pairs with a given model and clusters them at the level of the golden record (see
 * resolveRecords); also used by the resolution pass over the golden store with the trained default model.
 * `usablePhone`: when the records are a part of a store, whether a phone's block is usable there — only such
 * phones' holders are weighed against each other (detachAmbiguousPartials), as only those the pass walks to.
 */
export function scoreAndCluster(
  records: readonly MatchRecord[],
  candidates: Iterable<CandidatePair>,
  model: FellegiSunterModel,
  settings: EngineSettings,
  usablePhone?: (phone: string) => boolean,
): { clusterOf: Int32Array; pairs: ScoredPair[] } {
  const n = records.length;
  const idIndex = settings.comparisons.findIndex((c) => c.name === 'idNumber');
  const scored: ScoredPair[] = [];
  const parent = new Int32Array(n).map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x] as number] as number;
      x = parent[x] as number;
    }
    return x;
  };
  const conflicts = conflictIndexesOf(settings.comparisons);
  const decide = pairDecider(model, settings);
  for (const [i, j, levels] of candidates) {
    const d = decide(records[i] as MatchRecord, records[j] as MatchRecord, levels);
    if (d === null || d.decision === 'NON_MATCH') continue;
    scored.push({
      a: i,
      b: j,
      probability: d.sameId ? Math.max(d.probability, 0.999) : d.probability,
      weight: d.weight,
      decision: d.decision,
      rule: d.sameId ? 'SAME_ID_COMPATIBLE_NAME' : 'PROBABILISTIC',
    });
  }
  // Clustering: strongest links first, decided at the level of the golden record. Two clusters join only when
  // the pair's clusters match as wholes: no member of one conflicts with a member of the other (two different
  // valid resident ids, or strong non-match evidence), and the members' cross pairs score as a match on
  // average — so a chain of locally plausible links cannot grow one record out of many people.
  const idsOf = new Map<number, Set<string>>();
  records.forEach((r) => {
    if (r.idNumber !== null && residentId.test(r.idNumber)) idsOf.set(r.index, new Set([r.idNumber]));
  });
  const membersOf = new Map<number, number[]>();
  const members = (root: number) => membersOf.get(root) ?? [root];
  const wholeMatch = (ri: number, rj: number): boolean => {
    const a = members(ri);
    const b = members(rj);
    if (!settings.decideAsWholes || a.length * b.length === 1) return true;
    let total = 0;
    for (const x of a)
      for (const y of b) {
        const rx = records[x] as MatchRecord;
        const ry = records[y] as MatchRecord;
        if (differentResidentIds(rx, ry)) return false;
        const levels = model.levelsOf(rx, ry);
        const sameIdXY = idIndex >= 0 && levels[idIndex] === 0;
        if (!sameIdXY && strongConflict(levels, conflicts) !== null) return false;
        total += sameIdXY ? 1 : model.score(rx, ry, false, levels).probability;
      }
    return total / (a.length * b.length) >= settings.clusterThreshold;
  };
  // Equal probabilities go in the order of their records' source keys, not of the pair list: the list's order
  // follows the records given, which differ between a neighbourhood and the whole store.
  // Each pair's key is made once, not on every comparison of the sort (a component of the bulk load has
  // hundreds of thousands of MATCH pairs).
  const keyOf = (i: number) => `${records[i]?.source}\u0000${records[i]?.recordId}`;
  const strongest = scored
    .filter((p) => p.decision === 'MATCH')
    .map((pair) => {
      const a = keyOf(pair.a);
      const b = keyOf(pair.b);
      return { pair, key: a < b ? `${a}\u0001${b}` : `${b}\u0001${a}` };
    })
    .sort((x, y) => y.pair.probability - x.pair.probability || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  for (const { pair } of strongest) {
    const ri = find(pair.a);
    const rj = find(pair.b);
    if (ri === rj) continue;
    const si = idsOf.get(ri);
    const sj = idsOf.get(rj);
    if (si && sj && ![...sj].every((id) => si.has(id))) continue;
    if (!wholeMatch(ri, rj)) {
      // A bridge that would join two records which do not match as wholes: a doubtful link, for review.
      pair.decision = 'POSSIBLE_MATCH';
      continue;
    }
    const root = Math.min(ri, rj);
    const other = Math.max(ri, rj);
    parent[other] = root;
    membersOf.set(root, [...members(root), ...members(other)]);
    membersOf.delete(other);
    if (si || sj) idsOf.set(root, new Set([...(si ?? []), ...(sj ?? [])]));
  }
  const clusterOf = new Int32Array(n);
  for (let i = 0; i < n; i += 1) clusterOf[i] = find(i);
  if (settings.decideAsWholes) detachAmbiguousPartials(records, clusterOf, model, conflicts, usablePhone);
  return { clusterOf, pairs: scored };
}

/**
 * A record without an identity document is linked by its phone only when one golden record it could be holds
 * that phone (as the streaming matcher decides): an id-less record whose phone is also held, plausibly, by
 * another cluster is taken out of its cluster — a possible match for review, not a link.
 */
function detachAmbiguousPartials(
  records: readonly MatchRecord[],
  clusterOf: Int32Array,
  model: FellegiSunterModel,
  conflicts: ConflictIndexes,
  usablePhone?: (phone: string) => boolean,
): void {
  const byPhone = new Map<string, number[]>();
  records.forEach((r, i) => {
    if (r.phone !== null && (!usablePhone || usablePhone(r.phone)))
      byPhone.set(r.phone, [...(byPhone.get(r.phone) ?? []), i]);
  });
  // Members by cluster label (a cluster is labelled by one of its members' indexes), for relabelling below.
  let membersOf: Map<number, number[]> | null = null;
  const detach = (i: number) => {
    const own = clusterOf[i] as number;
    if (own === i) {
      // i labels its own cluster: the rest take another member's index as their label, or setting clusterOf[i]
      // = i would leave i where it was — whether a record was detached would depend on the order given.
      if (membersOf === null) {
        membersOf = new Map();
        clusterOf.forEach((c, k) => {
          const list = membersOf?.get(c);
          if (list) list.push(k);
          else membersOf?.set(c, [k]);
        });
      }
      const rest = (membersOf.get(own) ?? []).filter((k) => k !== i);
      const label = rest[0];
      if (label !== undefined) {
        for (const k of rest) clusterOf[k] = label;
        membersOf.set(label, rest);
      }
      membersOf.set(i, [i]);
      return;
    }
    clusterOf[i] = i;
    const list = membersOf?.get(own);
    if (list)
      membersOf?.set(
        own,
        list.filter((k) => k !== i),
      );
    membersOf?.set(i, [i]);
  };
  for (const holders of byPhone.values()) {
    if (holders.length < 2) continue;
    for (const i of holders) {
      const me = records[i] as MatchRecord;
      if (me.idNumber !== null) continue;
      const own = clusterOf[i] as number;
      if (!holders.some((j) => j !== i && clusterOf[j] === own)) continue;
      const plausibleClusters = new Set(
        holders
          .filter((j) => j !== i)
          .filter((j) => {
            const other = records[j] as MatchRecord;
            return !differentResidentIds(me, other) && strongConflict(model.levelsOf(me, other), conflicts) === null;
          })
          .map((j) => clusterOf[j] as number),
      );
      if (plausibleClusters.size > 1) detach(i);
    }
  }
}

/** Pairwise precision / recall / F1 of a clustering against true entity keys (as the ER benchmarks define them). */
export function pairwiseScores(
  clusterOf: ArrayLike<number>,
  truth: readonly string[],
): { precision: number; recall: number; f1: number; predictedPairs: number; truePairs: number; correctPairs: number } {
  const pairsIn = (groups: Map<string, number[]>) => {
    let count = 0;
    for (const g of groups.values()) count += (g.length * (g.length - 1)) / 2;
    return count;
  };
  const byCluster = new Map<string, number[]>();
  const byTruth = new Map<string, number[]>();
  const byBoth = new Map<string, number[]>();
  for (let i = 0; i < truth.length; i += 1) {
    const c = String(clusterOf[i]);
    const tr = truth[i] as string;
    for (const [map, key] of [
      [byCluster, c],
      [byTruth, tr],
      [byBoth, `${c}\u0000${tr}`],
    ] as const) {
      const list = map.get(key);
      if (list) list.push(i);
      else map.set(key, [i]);
    }
  }
  const predictedPairs = pairsIn(byCluster);
  const truePairs = pairsIn(byTruth);
  const correctPairs = pairsIn(byBoth);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    predictedPairs,
    truePairs,
    correctPairs,
  };
}
