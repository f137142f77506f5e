import { readFileSync } from 'node:fs';

/**
 * Self time from a V8 `.cpuprofile` (node --cpu-prof): per function and per area (a package under
 * node_modules, a folder of src/, Node's internals, garbage collection), as shares of the busy time (idle left
 * out). Used by bench/graphql.bench.ts --profile to say where the hub's time goes under load.
 */
type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

export type SelfTime = { name: string; ms: number; share: number };

/**
 * Native code and Node's internals (socket writes, crypto, buffers) are charged to the nearest caller in a
 * package or in the hub's own code, so that "writev" shows up as the pg driver or Express that caused it.
 */
export function summariseProfile(file: string, top = 25): { busyMs: number; functions: SelfTime[]; areas: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const caller = (id: number): CallFrame | null => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const frame = byId.get(p)?.callFrame;
      if (frame && isCode(frame)) return frame;
    }
    return null;
  };
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i] ?? -1;
    const frame = byId.get(id)?.callFrame;
    // The delta before the next sample is the time spent in this one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame || frame.functionName === '(idle)') continue;
    busy += us;
    const by = isCode(frame) ? null : caller(id);
    const key = `${frame.functionName || '(anonymous)'} ${where(frame)}${by ? ` ← ${by.functionName || '(anonymous)'} ${where(by)}` : ''}`;
    functions.set(key.trim(), (functions.get(key.trim()) ?? 0) + us);
    const area = areaOf(by ?? frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy === 0 ? 0 : us / busy }));
  return { busyMs: busy / 1000, functions: rank(functions, top), areas: rank(areas, 15) };
}

/** Code of a package or of the hub (not native, not Node's internals). */
function isCode(frame: CallFrame): boolean {
  return /\/node_modules\/|\/(src|bench|tests)\//.test(frame.url);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.search(/\/(src|bench|tests)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function where(frame: CallFrame): string {
  if (!frame.url) return '';
  return `${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function areaOf(frame: CallFrame): string {
  if (frame.functionName === '(garbage collector)') return '(garbage collector)';
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return 'node: internals';
  const url = shortUrl(frame.url);
  if (url !== frame.url.replace(/^file:\/\//, '')) {
    const parts = url.split('/');
    if (parts[0] === 'src') return `src/${parts[1] ?? ''}`;
    if (parts[0] === 'bench' || parts[0] === 'tests') return parts[0];
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  return url;
}
