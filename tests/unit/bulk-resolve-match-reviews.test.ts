import { describe, expect, it } from 'vitest';
import { addReview } from '../../src/sync/bulk-resolve.ts';
import { newSegment } from '../../src/sync/party-batch-types.ts';

const explanation = {
  decision: 'POSSIBLE' as const,
  probability: null,
  candidatePartyId: null,
  comparisons: [],
  note: 'test',
};
const review = (recordId: string, partyId: string, probability: number) => ({
  recordId,
  partyId,
  probability,
  explanation: { ...explanation, probability, candidatePartyId: partyId },
});

describe('bulk resolution review tasks (matching)', () => {
  it('asks once per pair of golden records, whichever records and side scored it', () => {
    const { reviews } = newSegment();
    // Golden record A's records r1, r2 against B; B's record r3 against A; A's r1 against C.
    addReview(reviews, 'A', review('r1', 'B', 0.7));
    addReview(reviews, 'A', review('r2', 'B', 0.9));
    addReview(reviews, 'B', review('r3', 'A', 0.8));
    addReview(reviews, 'A', review('r1', 'C', 0.6));
    expect(reviews.size).toBe(2);
    // The pair's strongest evidence is the task kept.
    expect(reviews.get('A|B')).toMatchObject({ recordId: 'r2', partyId: 'B', probability: 0.9 });
    expect(reviews.get('A|C')).toMatchObject({ recordId: 'r1', partyId: 'C', probability: 0.6 });
  });

  it('keeps the first on a tie (the order of the load, so the same input gives the same queue)', () => {
    const { reviews } = newSegment();
    addReview(reviews, 'B', review('r3', 'A', 0.8));
    addReview(reviews, 'A', review('r1', 'B', 0.8));
    expect([...reviews.values()]).toEqual([review('r3', 'A', 0.8)]);
  });
});
