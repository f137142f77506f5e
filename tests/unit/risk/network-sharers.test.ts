import { describe, expect, it } from 'vitest';
import { policyRelation } from '../../../src/relations/relationships.ts';
import { groupSharers } from '../../../src/risk/network-sharers.ts';

/** Everyone with a name of their own. */
const named = (...ids: string[]) => new Map(ids.map((id) => [id, `name-${id}`]));

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
      new Map(),
      named('a', 'b', 'c', 'd'),
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
    const { units, sharers } = groupSharers(['a', 'b', 'c'], new Map(), edges, new Map(), named('a', 'b', 'c'));
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
    expect(groupSharers(['a', 'b', 'c', 'd'], new Map(), [], leads, named('a', 'b', 'c', 'd')).units).toBe(3);
  });

  it("counts one person's records kept apart as that person: the same name, or no name at all", () => {
    // a lead, an anonymous app account and the policy record behind one phone: one person, not a ring
    const names = new Map([
      ['lead', '丁天峰'],
      ['policy', '丁天峰'],
    ]);
    const one = groupSharers(['lead', 'app', 'policy'], new Map(), [], new Map(), names);
    expect(one.units).toBe(1);
    expect(one.sharers).toEqual([
      { customer: 'app', counted: false, countedWith: 'lead', why: 'NO_NAME' },
      { customer: 'lead', counted: true, why: 'UNRELATED' },
      { customer: 'policy', counted: false, countedWith: 'lead', why: 'SAME_NAME' },
    ]);
    // three people with names of their own are three, an anonymous holder beside them adds none
    const ring = new Map([
      ['a', '王伟'],
      ['b', '李娜'],
      ['c', '张敏'],
    ]);
    expect(groupSharers(['a', 'b', 'c', 'x'], new Map(), [], new Map(), ring).units).toBe(3);
    // an anonymous holder already counted with a relative leaves that relative's group alone
    const linked = groupSharers(
      ['a', 'b', 'c', 'd'],
      new Map([
        ['b', 'H1'],
        ['c', 'H1'],
      ]),
      [],
      new Map(),
      new Map([
        ['a', '王伟'],
        ['b', '李娜'],
        ['d', '张敏'],
      ]),
    );
    expect(linked.units).toBe(3);
    expect(linked.sharers.find((s) => s.customer === 'c')).toEqual({
      customer: 'c',
      counted: false,
      countedWith: 'b',
      why: 'SAME_HOUSEHOLD',
    });
    // nobody named: one unit
    expect(groupSharers(['x', 'y', 'z'], new Map(), [], new Map(), new Map()).units).toBe(1);
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
