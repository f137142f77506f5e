import { describe, expect, it } from 'vitest';
import { mapMaybe, ReadAheadLoader } from '../../src/services/loaders.ts';

describe('ReadAheadLoader', () => {
  it('answers a primed key with the value itself and loads the rest in one batch', async () => {
    const batches: string[][] = [];
    const loader = new ReadAheadLoader<string, string[]>(async (keys) => {
      batches.push([...keys]);
      return keys.map((k) => [`loaded ${k}`]);
    });
    loader.prime('a', ['primed a']);
    expect(loader.get('a')).toEqual(['primed a']);
    const b = loader.get('b');
    const c = loader.get('c');
    expect(b).toBeInstanceOf(Promise);
    expect(await b).toEqual(['loaded b']);
    expect(await c).toEqual(['loaded c']);
    expect(batches).toEqual([['b', 'c']]);
    // DataLoader keeps the first value for a key; so does get.
    loader.prime('a', ['second']);
    expect(loader.get('a')).toEqual(['primed a']);
    expect(await loader.load('a')).toEqual(['primed a']);
    // Cleared, a key is loaded again.
    loader.clear('a');
    expect(await loader.get('a')).toEqual(['loaded a']);
    expect(batches).toEqual([['b', 'c'], ['a']]);
  });

  it('maps a value without making it a promise', async () => {
    expect(mapMaybe([1, 2, 3], (v) => v.length)).toBe(3);
    const mapped = mapMaybe(Promise.resolve([1, 2]), (v) => v.length);
    expect(mapped).toBeInstanceOf(Promise);
    expect(await mapped).toBe(2);
  });
});
