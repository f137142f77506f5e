import { describe, expect, it } from 'vitest';
import type { MatchCandidate } from '../../src/sync/match/matcher.ts';
import { createProbabilisticMatcher } from '../../src/sync/match/probabilistic.matcher.ts';

/**
 * Clustering must not depend on the order its records come in: the bulk load numbers records by source key, the
 * resolution pass by how it walked the store. Found at population scale: an id-less lead sharing a phone with a
 * customer's records and an anonymous app user was detached from the customer's cluster only when it was not the
 * first record given (detaching set its label to its own index, which was already the cluster's label).
 */
const base = {
  index: 0,
  source: '',
  recordId: '',
  kind: 'PERSON',
  email: null,
  postcode: null,
  province: null,
  phone: '13788144934',
};
const person = {
  familyName: '何',
  givenName: '伟',
  fullName: '何伟',
  familyPinyin: 'he',
  givenPinyin: 'wei',
  fullPinyin: 'hewei',
};
const records: [string, string, Record<string, unknown>][] = [
  [
    'agency-crm',
    'LEAD-1',
    { ...base, ...person, sex: 'M', city: '上海', birthDate: '1996-07-22', idNumber: null, addressLine: null },
  ],
  [
    'bancassurance',
    'PASSPORT:E00000717',
    { ...base, ...person, sex: null, city: null, birthDate: null, idNumber: 'E00000717', addressLine: null },
  ],
  [
    'billing',
    'PASSPORT:E00000717',
    { ...base, ...person, sex: null, city: null, birthDate: null, idNumber: 'E00000717', addressLine: null },
  ],
  [
    'core-policy',
    'C1',
    {
      ...base,
      ...person,
      sex: 'M',
      city: '上海',
      birthDate: '1996-07-22',
      idNumber: 'E00000717',
      addressLine: '上海市徐汇区漕溪北路43号6栋2301室200030',
    },
  ],
  [
    'web-app',
    'APP-1',
    {
      ...base,
      sex: null,
      city: null,
      birthDate: null,
      idNumber: null,
      addressLine: null,
      familyName: null,
      givenName: null,
      fullName: null,
      familyPinyin: null,
      givenPinyin: null,
      fullPinyin: null,
    },
  ],
];

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (const [i, item] of items.entries())
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [item, ...rest];
}

describe('clustering is independent of the order of its records', () => {
  it('gives the same partition for every order of a phone shared by a customer, a lead and an app user', () => {
    const cluster = createProbabilisticMatcher().cluster;
    if (!cluster) throw new Error('the default matcher clusters in batch');
    const partitions = new Set<string>();
    for (const order of permutations(records)) {
      const candidates: MatchCandidate[] = order.map(([system, sourceId, profile]) => ({
        recordId: `${system}/${sourceId}`,
        partyId: '',
        system,
        sourceId,
        profile: { ...profile },
        attributes: null,
      }));
      const labels = cluster(candidates, () => true);
      const groups = new Map<number, string[]>();
      labels.forEach((label, at) => groups.set(label, [...(groups.get(label) ?? []), candidates[at]?.recordId ?? '']));
      partitions.add(JSON.stringify([...groups.values()].map((g) => g.sort().join(' + ')).sort()));
    }
    expect([...partitions]).toEqual([
      JSON.stringify(
        [
          'agency-crm/LEAD-1',
          'bancassurance/PASSPORT:E00000717 + billing/PASSPORT:E00000717 + core-policy/C1',
          'web-app/APP-1',
        ].sort(),
      ),
    ]);
  });
});
