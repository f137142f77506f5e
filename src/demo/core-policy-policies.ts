import { type Row } from '../connectors/core-policy/fixtures/events.ts';
import { DEMO_CUSTOMER, money, pad, type Person, type Policy, products, riders } from './core-policy-values.ts';
import type { CoreGen } from './core-policy-gen.ts';

/** The policies of the demo with their covers and roles, and how to add more (new business after the snapshot). */
export type PolicyBook = ReturnType<typeof generatePolicies>;

export function generatePolicies(g: CoreGen, people: Person[], clients: Person[]) {
  const { r, at, policyCount } = g;
  // Policies: holder, insured (self, a child or another adult), sometimes a payer and beneficiaries.
  const policies = new Map<string, Policy>();
  const adults = clients.filter((p) => p.kind === 'P' && p.adult && p.clientNo !== DEMO_CUSTOMER.clientNo);
  const children = clients.filter((p) => p.kind === 'P' && !p.adult);
  const companies = clients.filter((p) => p.kind === 'C');
  if (adults.length === 0) adults.push(people[0] as Person); // tiny data sets: the demo customer alone
  const roleRow = (policyNo: string, client: Person, role: string, minute: number, extra: Row = {}): Row => ({
    CHDRNUM: policyNo,
    CLNTNUM: client.clientNo,
    CLRRROLE: role,
    BNYSEQ: null,
    BNYPC: null,
    VALIDFLAG: '1',
    DTEUPD: at(minute),
    ...extra,
  });
  const addPolicy = (
    policyNo: string,
    p: {
      owner: Person;
      insured: Person;
      beneficiaries?: Person[];
      payer?: Person | null;
      status?: string;
      product?: (typeof products)[number];
      minute: number;
    },
  ) => {
    const product = p.product ?? r.pick(products);
    const status =
      p.status ??
      r.weighted([
        ['IF', 80],
        ['LA', 7],
        ['RI', 3],
        ['SU', 4],
        ['MA', 2],
        ['CL', 2],
        ['CF', 2],
      ]);
    const occYear = r.int(2010, 2025);
    const occMonth = r.int(1, 12);
    const occDay = r.int(1, 28);
    const frequency = r.weighted([
      ['01', 70],
      ['12', 30],
    ]); // 01 annual, 12 monthly
    const sum = r.int(5, 100) * 10000;
    const mainPremium = sum * product.rate * (frequency === '12' ? 0.09 : 1);
    const covers: Row[] = [
      {
        CHDRNUM: policyNo,
        COVERAGE: '01',
        RIDER: '00',
        CRTABLE: product.main,
        SUMINS: money(sum),
        INSTPREM: money(mainPremium),
        STATCODE: status,
        DTEUPD: at(p.minute),
      },
    ];
    const riderCount = r.int(0, 2);
    for (let k = 1; k <= riderCount; k += 1) {
      const riderSum = Math.round(sum / r.pick([2, 5, 10]));
      covers.push({
        CHDRNUM: policyNo,
        COVERAGE: '01',
        RIDER: pad(k, 2),
        CRTABLE: riders[(k + r.int(0, 3)) % riders.length] ?? 'ADD1',
        SUMINS: money(riderSum),
        INSTPREM: money(riderSum * 0.002 * (frequency === '12' ? 0.09 : 1)),
        STATCODE: status,
        DTEUPD: at(p.minute),
      });
    }
    const premium = covers.reduce((s, c) => s + Number(c.INSTPREM), 0);
    const paidTo =
      status === 'LA'
        ? `${Math.min(occYear + 1, 2025)}${pad(occMonth, 2)}${pad(occDay, 2)}`
        : status === 'IF' || status === 'RI'
          ? `2027${pad(occMonth, 2)}${pad(occDay, 2)}`
          : `${Math.min(occYear + r.int(1, 5), 2026)}${pad(occMonth, 2)}${pad(occDay, 2)}`;
    const row: Row = {
      CHDRNUM: policyNo,
      CNTTYPE: product.code,
      STATCODE: status,
      OCCDATE: Number(`${occYear}${pad(occMonth, 2)}${pad(occDay, 2)}`),
      PTDATE: r.chance(0.02) ? r.pick([0, 99999999]) : Number(paidTo),
      SINSTAMT: money(sum),
      INSTPREM: money(premium),
      BILLFREQ: frequency,
      SRCEBUS: r.weighted([
        ['AG', 55],
        ['BA', 25],
        ['TM', 10],
        ['WB', 10],
      ]),
      AGNTNUM: `AG${pad(r.int(1, 500), 4)}`,
      DTEUPD: at(p.minute),
    };
    const roles: Row[] = [roleRow(policyNo, p.owner, 'OW', p.minute), roleRow(policyNo, p.insured, 'LF', p.minute)];
    if (p.payer) roles.push(roleRow(policyNo, p.payer, 'PY', p.minute));
    const bens = p.beneficiaries ?? [];
    const shares =
      bens.length === 1
        ? ['100.00']
        : bens.length === 2
          ? r.pick([
              ['50.00', '50.00'],
              ['60.00', '40.00'],
              ['70.00', '30.00'],
            ])
          : ['40.00', '30.00', '30.00'];
    bens.forEach((b, k) => roles.push(roleRow(policyNo, b, 'BN', p.minute, { BNYSEQ: 1, BNYPC: shares[k] ?? '0.00' })));
    policies.set(policyNo, { row, covers, roles });
  };
  /** Up to `n` distinct beneficiaries, never the insured (a death benefit is not paid to the deceased). */
  const pickBeneficiaries = (n: number, insured: Person): Person[] => {
    const out: Person[] = [];
    for (let tries = 0; out.length < n && tries < 20; tries += 1) {
      const b = r.chance(0.2) && children.length > 0 ? r.pick(children) : r.pick(adults);
      if (b.clientNo !== insured.clientNo && !out.some((x) => x.clientNo === b.clientNo)) out.push(b);
    }
    return out;
  };

  const demo = people[0] as Person;
  const demoChild = children[0] ?? r.pick(adults);
  addPolicy('P9000001', {
    owner: demo,
    insured: demo,
    payer: demo,
    beneficiaries: pickBeneficiaries(2, demo),
    status: 'IF',
    product: products[0],
    minute: 1,
  });
  addPolicy('P9000002', {
    owner: demo,
    insured: demoChild,
    payer: demo,
    beneficiaries: [demo],
    status: 'IF',
    product: products[1],
    minute: 2,
  });
  addPolicy('P9000003', { owner: demo, insured: demo, status: 'LA', product: products[4], minute: 3 });
  const other = r.pick(adults);
  addPolicy('P9000004', {
    owner: other,
    insured: other,
    beneficiaries: [demo],
    status: 'IF',
    product: products[3],
    minute: 4,
  });

  for (let i = 1; i <= policyCount; i += 1) {
    const owner = companies.length > 0 && r.chance(0.05) ? r.pick(companies) : r.pick(adults);
    const insured =
      owner.kind === 'C'
        ? r.pick(adults)
        : r.weighted([
            [owner, 55],
            [children.length > 0 ? r.pick(children) : owner, 15],
            [r.pick(adults), 30],
          ]);
    const n = r.chance(0.4)
      ? r.weighted([
          [1, 70],
          [2, 25],
          [3, 5],
        ])
      : 0;
    const beneficiaries = pickBeneficiaries(n, insured);
    const payer = r.chance(0.25) ? (r.chance(0.6) ? owner : r.pick(adults)) : null;
    const policyNo = `P${pad(1000000 + i, 7)}`;
    addPolicy(policyNo, { owner, insured, beneficiaries, payer, minute: 10 + i });
    const policy = policies.get(policyNo) as Policy;
    // A contingent (second-order) beneficiary, and a former beneficiary kept as history (VALIDFLAG 2).
    if (beneficiaries.length === 1 && r.chance(0.15)) {
      const [second] = pickBeneficiaries(1, insured).filter((b) => b.clientNo !== beneficiaries[0]?.clientNo);
      if (second) policy.roles.push(roleRow(policyNo, second, 'BN', 10 + i, { BNYSEQ: 2, BNYPC: '100.00' }));
    }
    if (beneficiaries.length > 0 && r.chance(0.08)) {
      const former = pickBeneficiaries(1, insured).find(
        (b) => !policy.roles.some((x) => x.CLNTNUM === b.clientNo && x.CLRRROLE === 'BN'),
      );
      if (former)
        policy.roles.push(roleRow(policyNo, former, 'BN', 10 + i, { BNYSEQ: 1, BNYPC: '100.00', VALIDFLAG: '2' }));
    }
  }
  return { policies, adults, children, roleRow, addPolicy, pickBeneficiaries };
}
