import { describe, expect, it } from 'vitest';
import { populationChunks } from '../../../src/demo/generate-population.ts';

describe('population ground truth', () => {
  it('names the person or organisation of every message about someone, beside the messages', () => {
    const chunks = [...populationChunks({ customers: 400, chunkPeople: 150 })];
    for (const c of chunks) expect(c.truth).toHaveLength(c.messages.length);
    const all = chunks.flatMap((c) => c.messages.map((m, i) => ({ m, about: c.truth[i] ?? null })));
    // Client rows, leads and app users are about someone; policies and covers about no one.
    for (const { m, about } of all) {
      if (['corepol.LIFEDB.CLIENT', 'agency.leads.v1', 'app.customer-events.v1'].includes(m.topic))
        expect(about).toMatch(/^[PC]\d+$/);
      if (m.topic === 'corepol.LIFEDB.CHDR' || m.topic === 'corepol.LIFEDB.COVR') expect(about).toBeNull();
    }
    const people = new Set(all.map((x) => x.about).filter((x) => x !== null));
    expect(people.size).toBeGreaterThan(300);
    expect(people.size).toBeLessThanOrEqual(chunks.at(-1)?.people ?? 0);
  });

  it('leaves the messages as they were (the truth is a side output)', () => {
    const a = [...populationChunks({ customers: 300, seed: 7 })].flatMap((c) => c.messages);
    const b = [...populationChunks({ customers: 300, seed: 7 })].flatMap((c) => c.messages);
    expect(a).toEqual(b);
  });
});
