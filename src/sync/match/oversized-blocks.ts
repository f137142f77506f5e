/**
 * Blocking keys whose blocks were counted well over their matcher cap: a common family name (王), a birth
 * date, a given name. Matching skips such blocks as non-evidence, yet they appear in almost every batch, so
 *   - counting them again in every batch is wasted index reading, and
 *   - locking them (src/sync/apply-changes.ts lockPartyKeys) made every two concurrent ingest transactions
 *     queue on each other whatever customers they carried.
 * A key is remembered once its block is at least `margin` records over what the matcher could use. Blocks
 * shrink only when records leave them (a changed name, a delete): a block a batch's changed records leave is
 * counted again (and forgotten if it is no longer far too big); a delete is not tracked, so a remembered block
 * would need more than `margin` of its records deleted before it mattered again — and the memory is dropped
 * every `ttlMs`, which bounds how long even a mass erasure could go unnoticed. Per hub process: instances learn
 * on their own.
 */
export class OversizedBlocks {
  static readonly margin = 8;
  private readonly keys = new Set<string>();
  private readonly ttlMs: number;
  private readonly maxKeys: number;
  private since = Date.now();

  constructor(opts: { ttlMs?: number; maxKeys?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? 600_000;
    this.maxKeys = opts.maxKeys ?? 200_000;
  }

  has(key: string): boolean {
    if (Date.now() - this.since > this.ttlMs) this.clear();
    return this.keys.has(key);
  }

  note(key: string): void {
    if (this.keys.size >= this.maxKeys) this.clear();
    this.keys.add(key);
  }

  forget(key: string): void {
    this.keys.delete(key);
  }

  private clear(): void {
    this.keys.clear();
    this.since = Date.now();
  }
}
