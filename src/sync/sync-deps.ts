import type { Matcher } from './match/matcher.ts';
import type { OversizedBlocks } from './match/oversized-blocks.ts';

/**
 * What the sync step needs: the matcher and the process's memory of blocks far too big to match on (per hub:
 * see OversizedBlocks).
 */
export type SyncDeps = { matcher: Matcher; oversized?: OversizedBlocks };

/** A change either applied or found older than what is stored (a duplicate or a late older version). */
export type ApplyOutcome = 'APPLIED' | 'STALE';
