import { describe, expect, it } from 'vitest';
import { policyRelation } from '../../../src/relations/relationships.ts';
import { groupSharers } from '../../../src/risk/network-sharers.ts';

describe('counting the sharers of a value', () => {
  it('counts a household once, whoever in it holds the value', () => {
    const { units, sharers } = groupSharers(
      ['d', 'a', 'c', 'b'],
      new Map([
        ['a', 'H1'],
        ['b', 'H1'],
        ['c', 'H1'],
      ]),
      [],
    );
    expect(units).toBe(2);
    expect(sharers).toEqual([
      { customer: 'a', counted: true, why: 'UNRELATED' },
      { customer: 'b', counted: false, countedWith: 'a', why: 'SAME_HOUSEHOLD' },
      { customer: 'c', counted: false, countedWith: 'a', why: 'SAME_HOUSEHOLD' },
      { customer: 'd', counted: true, why: 'UNRELATED' },
    ]);
  });

  it('counts customers related through a policy once, but not housemates a steward separated', () => {
    const edges = [
      { a: 'a', b: 'b', kind: 'POLICY' },
      { a: 'b', b: 'c', kind: 'CO_RESIDENT' },
    ];
    const { units, sharers } = groupSharers(['a', 'b', 'c'], new Map(), edges);
    expect(units).toBe(2);
    expect(sharers.find((s) => s.customer === 'b')).toEqual({
      customer: 'b',
      counted: false,
      countedWith: 'a',
      why: 'RELATED_POLICY',
    });
  });

  it("counts an agent's leads as the agent's one party", () => {
    const leads = new Map([
      ['a', 'AG1'],
      ['b', 'AG1'],
      ['c', 'AG2'],
    ]);
    expect(groupSharers(['a', 'b', 'c', 'd'], new Map(), [], leads).units).toBe(3);
  });
});

describe('the relation two role holders on a policy have', () => {
  const pair = (
    my_role: string,
    other_role: string,
    my_rel: string | null = null,
    other_rel: string | null = null,
  ) => ({
    my_role,
    other_role,
    my_rel,
    other_rel,
    my_kind: 'PERSON',
    other_kind: 'PERSON',
  });
  it('reads relation codes relative to the insured', () => {
    expect(policyRelation(pair('INSURED', 'BENEFICIARY', null, 'SPOUSE'), 2)).toEqual({ kind: 'SPOUSE', family: true });
    expect(policyRelation(pair('BENEFICIARY', 'INSURED', 'CHILD'), 2)).toEqual({ kind: 'PARENT_CHILD', family: true });
    expect(policyRelation(pair('INSURED', 'BENEFICIARY', null, 'OTHER'), 2)).toEqual({ kind: 'POLICY', family: false });
  });
  it('takes a person insuring another person for family, a beneficiary without a code for merely related', () => {
    expect(policyRelation(pair('POLICYHOLDER', 'INSURED'), 2)).toEqual({ kind: 'FAMILY', family: true });
    expect(policyRelation(pair('POLICYHOLDER', 'BENEFICIARY'), 2)).toEqual({ kind: 'POLICY', family: false });
  });
  it('does not take group business or an employer for family', () => {
    expect(policyRelation(pair('POLICYHOLDER', 'INSURED'), 12)).toEqual({ kind: 'POLICY', family: false });
    expect(policyRelation({ ...pair('POLICYHOLDER', 'INSURED'), my_kind: 'ORGANISATION' }, 2)).toEqual({
      kind: 'EMPLOYMENT',
      family: false,
    });
  });
});
