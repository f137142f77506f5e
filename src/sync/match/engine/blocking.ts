import type { MatchRecord } from './match-record.ts';

/**
 * Candidate search (blocking) on several keys, so that a typo in one attribute does not hide a match: a pair
 * is compared when it shares at least one key. Blocks larger than `maxBlockSize` (blank or placeholder values,
 * a company switchboard, a very common name + birth year) are skipped and counted, because they would make
 * the work quadratic while carrying almost no evidence.
 */
/** `maxBlockSize` overrides the global cap for a rule whose key alone is weak evidence. */
export type BlockingRule = { name: string; key(r: MatchRecord): string | null; maxBlockSize?: number };

const initial = (s: string | null) => (s === null ? null : ([...s][0] ?? null));
const join = (...parts: (string | null)[]) => (parts.some((p) => p === null || p === '') ? null : parts.join('|'));

export const defaultBlockingRules: readonly BlockingRule[] = [
  { name: 'idNumber', key: (r) => r.idNumber },
  { name: 'phone', key: (r) => r.phone },
  { name: 'email', key: (r) => r.email },
  // Chinese full names repeat a lot (王伟, 张敏): a name alone is a weak key, so its blocks are capped low;
  // the name-plus-birth-date and name-plus-place keys below find the pairs it skips.
  { name: 'given+family', key: (r) => join(r.givenName, r.familyName), maxBlockSize: 20 },
  // Only for sources that do not split names (otherwise given+family is the same key).
  {
    name: 'fullName',
    key: (r) => (r.givenName === null && r.familyName === null ? r.fullName : null),
    maxBlockSize: 20,
  },
  { name: 'family+birthDate', key: (r) => join(r.familyName, r.birthDate) },
  { name: 'given+birthDate', key: (r) => join(r.givenName, r.birthDate) },
  { name: 'birthDate+city', key: (r) => join(r.birthDate, r.city) },
  { name: 'postcode+initials', key: (r) => join(r.postcode, initial(r.givenName), initial(r.familyName)) },
  { name: 'address+initial', key: (r) => join(r.addressLine, initial(r.givenName)) },
  { name: 'pinyin+birthDate', key: (r) => join(r.fullPinyin, r.birthDate) },
  { name: 'birthDate+initials', key: (r) => join(r.birthDate, initial(r.givenName), initial(r.familyName)) },
  // Single attributes: cheap where values are rare, skipped by the block-size cap where they are common.
  { name: 'birthDate', key: (r) => r.birthDate, maxBlockSize: 10 },
  { name: 'familyName', key: (r) => r.familyName, maxBlockSize: 20 },
  { name: 'givenName', key: (r) => r.givenName, maxBlockSize: 20 },
  { name: 'emailMailbox', key: (r) => r.email?.split('@')[0] ?? null, maxBlockSize: 20 },
];

export type BlockingStats = {
  rules: Record<string, { blocks: number; skippedBlocks: number; skippedRecords: number }>;
  candidatePairs: number;
};

/**
 * Returns candidate pairs as packed numbers (i * n + j with i < j) in a Set, so each pair is compared once.
 * `linkOnly` keeps only pairs from different sources (linking sources known to be free of duplicates).
 */
/**
 * Candidate pairs (i·n + j), each once, iterated in the order first added (as a Set would). A V8 Set holds at
 * most 2^24 entries, and one component of the bulk initial load (src/sync/bulk-resolve.ts) has more candidate
 * pairs than that at a million customers: membership is spread over several Sets, the order kept in a growable
 * Float64Array.
 */
export class PairSet implements Iterable<number> {
  private readonly shards: Set<number>[] = Array.from({ length: 32 }, () => new Set<number>());
  private order = new Float64Array(1024);
  size = 0;
  add(p: number): void {
    const shard = this.shards[p % 32] as Set<number>;
    if (shard.has(p)) return;
    shard.add(p);
    if (this.size === this.order.length) {
      const grown = new Float64Array(this.order.length * 2);
      grown.set(this.order);
      this.order = grown;
    }
    this.order[this.size] = p;
    this.size += 1;
  }
  has(p: number): boolean {
    return (this.shards[p % 32] as Set<number>).has(p);
  }
  *[Symbol.iterator](): Iterator<number> {
    for (let k = 0; k < this.size; k += 1) yield this.order[k] as number;
  }
}

export function candidatePairs(
  records: readonly MatchRecord[],
  opts: {
    rules?: readonly BlockingRule[];
    maxBlockSize?: number;
    linkOnly?: boolean;
    /**
     * Blocks to use, by `rule:key` (as the streaming matcher names its keys): when the records are a part of a
     * bigger store, whether a block is small enough is decided by its size in the store, not among the records.
     */
    usable?: (key: string) => boolean;
  } = {},
): { pairs: PairSet; stats: BlockingStats } {
  const rules = opts.rules ?? defaultBlockingRules;
  const maxBlock = opts.maxBlockSize ?? 100;
  const n = records.length;
  const pairs = new PairSet();
  const stats: BlockingStats = { rules: {}, candidatePairs: 0 };
  for (const rule of rules) {
    const blocks = new Map<string, number[]>();
    for (const r of records) {
      const k = rule.key(r);
      if (k === null) continue;
      const list = blocks.get(k);
      if (list) list.push(r.index);
      else blocks.set(k, [r.index]);
    }
    const s = { blocks: 0, skippedBlocks: 0, skippedRecords: 0 };
    for (const [key, members] of blocks) {
      if (members.length < 2) continue;
      if (members.length > (rule.maxBlockSize ?? maxBlock) || (opts.usable && !opts.usable(`${rule.name}:${key}`))) {
        s.skippedBlocks += 1;
        s.skippedRecords += members.length;
        continue;
      }
      s.blocks += 1;
      for (let x = 0; x < members.length; x += 1) {
        for (let y = x + 1; y < members.length; y += 1) {
          const i = members[x] as number;
          const j = members[y] as number;
          if (opts.linkOnly && records[i]?.source === records[j]?.source) continue;
          pairs.add(i < j ? i * n + j : j * n + i);
        }
      }
    }
    stats.rules[rule.name] = s;
  }
  stats.candidatePairs = pairs.size;
  return { pairs, stats };
}
