import { readFileSync } from 'node:fs';

/**
 * The flags the hub's own npm script (`npm run hub`, package.json) gives node — the young-generation size among them
 * (docs/operations.md, "Sizing") — so that the benchmarks' server children and the tests' hub processes
 * (hub-process.ts) run the hub as operators do. Read from package.json: one place says how the hub runs.
 */
export function hubNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = (pkg.scripts.hub ?? '').split(/\s+/);
  const from = words.indexOf('node');
  const to = words.indexOf('src/cli/hub.ts');
  if (from < 0 || to < from) throw new Error('package.json: the "hub" script no longer runs `node … src/cli/hub.ts`');
  return words.slice(from + 1, to).filter((w) => w.startsWith('--'));
}
