/** Changes applied and found stale (in total and per source system), golden records changed. */
export type ApplyStats = {
  applied: number;
  stale: number;
  partiesChanged: number;
  bySystem: Map<string, { applied: number; stale: number }>;
};

export function tally(stats: ApplyStats, system: string, applied: number, stale: number): void {
  stats.applied += applied;
  stats.stale += stale;
  const s = stats.bySystem.get(system) ?? { applied: 0, stale: 0 };
  s.applied += applied;
  s.stale += stale;
  stats.bySystem.set(system, s);
}

export function addStats(into: ApplyStats, from: ApplyStats): void {
  into.partiesChanged += from.partiesChanged;
  for (const [system, s] of from.bySystem) tally(into, system, s.applied, s.stale);
}

export function emptyStats(): ApplyStats {
  return { applied: 0, stale: 0, partiesChanged: 0, bySystem: new Map() };
}
