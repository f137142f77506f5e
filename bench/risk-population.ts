import { coreEvent, dteupd, residentId } from '../src/connectors/core-policy/fixtures/events.ts';
import { givenName, surnameWeights } from '../src/demo/chinese-names.ts';
import { type Random, seeded } from '../src/demo/random.ts';
import type { BatchInputMessage } from '../src/ingest/batch-source.ts';

/**
 * An insurer population for the risk rules, with the truth of what each rule should find. Ordinary life is
 * the bulk of it and must raise nothing: singles, couples and families sharing an address and often a
 * landline, children whose record carries a parent's mobile, family policies (a parent insuring the spouse or
 * a child, beneficiaries with relation codes), joint accounts, employees of companies with a switchboard (small
 * firms with a group policy, large ones without), agents whose own mobile is typed into their leads, and sparse
 * claims. Planted among them: rings of unrelated people sharing a bank account, a mobile or an address, claim
 * bursts (six to nine claims inside a year, loaded as history more than a year old), high cumulative payouts,
 * high loss ratios, early claims and one incident claimed on several policies.
 */
export type Truth = Record<string, Set<string>>;
export type Population = {
  messages: BatchInputMessage[];
  /** Per rule code, the core-policy client numbers that should be flagged. */
  truth: Truth;
  /** Client numbers per true household (two or more members). */
  households: string[][];
  people: number;
};

const day = 86_400_000;
const now = Date.now();
const iso = (t: number) => new Date(t).toISOString().replace('Z', '+00:00');
const ymdInt = (t: number) => Number(new Date(t).toISOString().slice(0, 10).replaceAll('-', ''));

type Person = {
  clnt: string;
  surname: string;
  given: string;
  sex: 'M' | 'F';
  birth: string;
  idNo: string;
  mobile: string | null;
  landline: string | null;
  address: string | null;
};

export function generateRiskPopulation(opts: { households: number; seed?: number }): Population {
  const r: Random = seeded(opts.seed ?? 17);
  const messages: BatchInputMessage[] = [];
  const truth: Truth = Object.fromEntries(
    [
      'SHARED_CONTACT',
      'SHARED_ADDRESS',
      'SHARED_BANK_ACCOUNT',
      'CLAIMS_IN_WINDOW',
      'CUMULATIVE_PAID',
      'LOSS_RATIO',
      'EARLY_CLAIM',
      'MULTI_POLICY_INCIDENT',
    ].map((code) => [code, new Set<string>()]),
  );
  const households: string[][] = [];
  let clients = 0;
  let seq = 0;
  let policies = 0;
  let claims = 0;
  let payments = 0;
  const mobiles = new Set<string>();
  const newMobile = () => {
    for (;;) {
      const m = `13${r.int(0, 9)}${String(r.int(0, 99_999_999)).padStart(8, '0')}`;
      if (!mobiles.has(m)) {
        mobiles.add(m);
        return m;
      }
    }
  };
  const cities = [
    ['330106', '0571', '浙江省杭州市西湖区'],
    ['310104', '021', '上海市徐汇区'],
    ['110105', '010', '北京市朝阳区'],
    ['440106', '020', '广州市天河区'],
    ['510107', '028', '四川省成都市武侯区'],
  ] as const;
  const streets = ['文三路', '漕溪北路', '建国路', '体育西路', '人民南路', '解放路', '中山路', '延安路'];
  let addresses = 0;
  const newAddress = (city: (typeof cities)[number]) => {
    addresses += 1;
    return `${city[2]}${r.pick(streets)}${r.int(1, 300)}号${r.int(1, 30)}幢${addresses}室`;
  };
  const newLandline = (city: (typeof cities)[number]) =>
    `${city[1]}-${r.int(6, 8)}${String(addresses).padStart(7, '0')}`;

  const person = (
    city: (typeof cities)[number],
    over: Partial<Person> & { age: number; sex: 'M' | 'F'; surname?: string },
  ): Person => {
    clients += 1;
    seq += 1;
    const year = new Date(now).getUTCFullYear() - over.age;
    const birth = `${year}${String(r.int(1, 12)).padStart(2, '0')}${String(r.int(1, 28)).padStart(2, '0')}`;
    // The sequence's last digit carries the sex (odd: male), as on a real resident id.
    const s3 = String((seq % 99) * 10 + (over.sex === 'M' ? 1 : 2)).padStart(3, '0');
    return {
      clnt: `K${String(clients).padStart(7, '0')}`,
      surname: over.surname ?? r.weighted(surnameWeights),
      given: givenName(r, over.sex, r.chance(0.7)),
      sex: over.sex,
      birth,
      // Unique per person: the region's last four digits count hundreds of people.
      idNo: residentId(`${city[0].slice(0, 2)}${String(Math.floor(seq / 99) % 10_000).padStart(4, '0')}`, birth, s3),
      mobile: over.mobile === undefined ? newMobile() : over.mobile,
      landline: over.landline ?? null,
      address: over.address ?? null,
    };
  };
  const ts = dteupd('2026-11-01T00:00:00Z');
  const emitClient = (p: Person) =>
    messages.push(
      coreEvent('client', 'r', {
        CLNTNUM: p.clnt,
        CLTTYPE: 'P',
        SURNAME: p.surname,
        GIVNAME: p.given,
        CLTSEX: p.sex,
        CLTDOB: Number(p.birth),
        IDTYPE: '01',
        IDNO: p.idNo,
        MOBILE: p.mobile,
        PHONE: p.landline,
        EMAIL: null,
        ADDR1: p.address,
        ADDR2: null,
        ADDR3: null,
        POSTCODE: null,
        OCCPCODE: null,
        DTEUPD: ts,
      }),
    );
  const emitOrganisation = (clnt: string, name: string, phone: string, address: string) =>
    messages.push(
      coreEvent('client', 'r', {
        CLNTNUM: clnt,
        CLTTYPE: 'C',
        SURNAME: name,
        GIVNAME: null,
        LGIVNAME: name,
        CLTSEX: null,
        CLTDOB: null,
        IDTYPE: null,
        IDNO: null,
        MOBILE: null,
        PHONE: phone,
        EMAIL: null,
        ADDR1: address,
        ADDR2: null,
        ADDR3: null,
        POSTCODE: null,
        OCCPCODE: null,
        DTEUPD: ts,
      }),
    );
  /** A policy with its roles: [client, role code, relation code to the insured]. */
  const emitPolicy = (roles: [string, string, string | null][], commencedDaysAgo = r.int(1100, 3000)) => {
    policies += 1;
    const no = `Q${String(policies).padStart(7, '0')}`;
    messages.push(
      coreEvent('policy', 'r', {
        CHDRNUM: no,
        CNTTYPE: 'WL1',
        STATCODE: 'IF',
        OCCDATE: ymdInt(now - commencedDaysAgo * day),
        PTDATE: ymdInt(now + 200 * day),
        SINSTAMT: '300000.00',
        INSTPREM: '6000.00',
        BILLFREQ: '01',
        SRCEBUS: 'AG',
        AGNTNUM: 'AG001',
        DTEUPD: ts,
      }),
    );
    for (const [clnt, role, rel] of roles)
      messages.push(
        coreEvent('role', 'r', {
          CHDRNUM: no,
          CLNTNUM: clnt,
          CLRRROLE: role,
          BNYSEQ: role === 'BN' ? 1 : null,
          BNYPC: role === 'BN' ? '100.00' : null,
          VALIDFLAG: '1',
          CLTRELN: rel,
          DTEUPD: ts,
        }),
      );
    return no;
  };
  const emitClaim = (p: Person, policyNo: string, incidentDaysAgo: number, paid: number) => {
    claims += 1;
    const incident = now - incidentDaysAgo * day;
    const row = {
      claim_id: `RC${claims}`,
      claim_no: `CLM-R${claims}`,
      policy_no: policyNo,
      claimant_name: `${p.surname}${p.given}`,
      claimant_id_type: '01',
      claimant_id_no: p.idNo,
      claimant_phone: null,
      incident_date: Math.floor(incident / day),
      reported_at: (incident + 5 * day) * 1000,
      cause_code: 'HOS',
      claimed_amount: (paid * 1.1).toFixed(2),
      paid_amount: paid.toFixed(2),
      status: 'PAID',
      payee_bank_account: null,
      updated_at: (incident + 6 * day) * 1000,
    };
    messages.push({
      topic: 'claims.public.claim',
      key: JSON.stringify({ claim_id: row.claim_id }),
      value: JSON.stringify({ before: null, after: row, op: 'c', source: { ts_ms: now }, ts_ms: now }),
    });
  };
  const emitPayment = (p: Person, policyNo: string, amount: number, account: string | null, daysAgo: number) => {
    payments += 1;
    messages.push({
      topic: 'billing.payments.v1',
      key: `RP${payments}`,
      value: JSON.stringify({
        eventId: `RPE${payments}`,
        eventType: 'PREMIUM_PAID',
        occurredAt: iso(now - daysAgo * day),
        paymentId: `RP${payments}`,
        policyNo,
        payer: { name: `${p.surname}${p.given}`, idType: '01', idNumber: p.idNo, mobile: null },
        amount: amount.toFixed(2),
        currency: 'CNY',
        method: account ? 'BANK_DEBIT' : 'WECHAT',
        bankAccount: account ? { bankCode: 'ICBC', accountNo: account } : null,
        status: 'SUCCESS',
        failureReason: null,
      }),
    });
  };
  let accounts = 0;
  const newAccount = () => {
    accounts += 1;
    return `62170000${String(accounts).padStart(8, '0')}`;
  };

  // Ordinary households: 45 % singles, 25 % couples, 30 % families of three to five.
  for (let h = 0; h < opts.households; h += 1) {
    const city = r.pick(cities);
    const address = newAddress(city);
    const roll = r.next();
    const size = roll < 0.45 ? 1 : roll < 0.7 ? 2 : r.int(3, 5);
    const landline = r.chance(size === 1 ? 0.3 : 0.7) ? newLandline(city) : null;
    const familyName = r.weighted(surnameWeights);
    const members: Person[] = [];
    const head = person(city, {
      age: r.int(28, 60),
      sex: r.chance(0.5) ? 'M' : 'F',
      surname: familyName,
      address,
      landline,
    });
    members.push(head);
    if (size >= 2)
      // Chinese wives keep their own surname.
      members.push(person(city, { age: r.int(28, 60), sex: head.sex === 'M' ? 'F' : 'M', address, landline }));
    for (let c = 2; c < size; c += 1) {
      const minor = r.chance(0.6);
      members.push(
        person(city, {
          age: minor ? r.int(3, 17) : r.int(18, 30),
          sex: r.chance(0.5) ? 'M' : 'F',
          surname: familyName,
          address,
          landline,
          // A minor's record often carries a parent's mobile.
          mobile: minor ? (r.chance(0.5) ? head.mobile : null) : undefined,
        }),
      );
    }
    for (const m of members) emitClient(m);
    if (size >= 2) households.push(members.map((m) => m.clnt));
    // Policies: each adult insures themselves; a parent insures the spouse or a child on some households.
    for (const m of members.filter((x) => Number(x.birth.slice(0, 4)) <= new Date(now).getUTCFullYear() - 18)) {
      if (!r.chance(0.6)) continue;
      const no = emitPolicy([
        [m.clnt, 'OW', null],
        [m.clnt, 'LF', 'SF'],
      ]);
      const account = r.chance(0.5) ? newAccount() : null;
      emitPayment(m, no, 6000, account, r.int(30, 300));
      // Sparse claims: at most two, years apart.
      if (r.chance(0.15)) emitClaim(m, no, r.int(30, 900), r.int(500, 8000));
      if (r.chance(0.05)) emitClaim(m, no, r.int(930, 990), r.int(500, 8000));
    }
    if (size >= 2 && r.chance(0.5)) {
      const insured = members[r.int(1, size - 1)] as Person;
      const rel = members.indexOf(insured) === 1 ? 'SP' : 'CH';
      const no = emitPolicy([
        [head.clnt, 'OW', rel === 'SP' ? 'SP' : 'PA'],
        [insured.clnt, 'LF', 'SF'],
        [head.clnt, 'BN', rel === 'SP' ? 'SP' : 'PA'],
      ]);
      // A joint account: the head pays for the family policy, the spouse for their own.
      const joint = newAccount();
      emitPayment(head, no, 3000, joint, r.int(30, 300));
      if (size >= 2) {
        const spouse = members[1] as Person;
        const own = emitPolicy([
          [spouse.clnt, 'OW', null],
          [spouse.clnt, 'LF', 'SF'],
        ]);
        emitPayment(spouse, own, 4000, joint, r.int(30, 300));
      }
    }
  }

  // Companies: large ones with a switchboard on every employee's record and no group policy; small ones with a
  // group policy (the company holds it, the employees are insured).
  for (let c = 0; c < 6; c += 1) {
    const city = r.pick(cities);
    const address = newAddress(city);
    const switchboard = `${city[1]}-${r.int(6, 8)}${String(9_000_000 + c).padStart(7, '0')}`;
    const large = c < 3;
    const staff = Array.from({ length: large ? r.int(15, 40) : r.int(4, 8) }, () =>
      person(city, {
        age: r.int(22, 55),
        sex: r.chance(0.5) ? 'M' : 'F',
        landline: switchboard,
        address: newAddress(city),
      }),
    );
    for (const s of staff) emitClient(s);
    if (!large) {
      const org = `C${String(c).padStart(7, '0')}`;
      emitOrganisation(org, `杭州第${c}科技有限公司`, switchboard, address);
      emitPolicy([[org, 'OW', null], ...staff.map((s): [string, string, string | null] => [s.clnt, 'LF', 'OT'])]);
    }
  }

  // Agents whose own mobile is typed into their leads (prospects, not yet customers).
  let leads = 0;
  for (let a = 0; a < 5; a += 1) {
    const agentMobile = newMobile();
    for (let l = 0; l < r.int(4, 15); l += 1) {
      leads += 1;
      const city = r.pick(cities);
      const p = person(city, { age: r.int(25, 60), sex: r.chance(0.5) ? 'M' : 'F' });
      messages.push({
        topic: 'agency.leads.v1',
        key: `RL${leads}`,
        value: JSON.stringify({
          leadId: `RL${leads}`,
          createdAt: iso(now - 40 * day),
          updatedAt: iso(now - 40 * day),
          agentCode: `AG${100 + a}`,
          name: `${p.surname}${p.given}`,
          gender: p.sex,
          birthDate: `${p.birth.slice(0, 4)}-${p.birth.slice(4, 6)}-${p.birth.slice(6, 8)}`,
          mobile: agentMobile,
          city: city[2].slice(0, 2),
          source: 'EVENT',
          referredByClientNo: null,
          interests: ['ANNUITY'],
          status: 'NEW',
          convertedPolicyNo: null,
        }),
      });
    }
  }

  // Planted rings of unrelated people (different cities, surnames and addresses).
  const stranger = (over: Partial<Person> = {}) => {
    const city = r.pick(cities);
    return person(city, { age: r.int(25, 60), sex: r.chance(0.5) ? 'M' : 'F', address: newAddress(city), ...over });
  };
  for (let ring = 0; ring < 3; ring += 1) {
    const account = newAccount();
    for (const p of Array.from({ length: r.int(3, 4) }, () => stranger())) {
      emitClient(p);
      const no = emitPolicy([
        [p.clnt, 'OW', null],
        [p.clnt, 'LF', 'SF'],
      ]);
      emitPayment(p, no, 5000, account, r.int(30, 300));
      truth.SHARED_BANK_ACCOUNT?.add(p.clnt);
    }
  }
  for (let ring = 0; ring < 3; ring += 1) {
    const mobile = newMobile();
    for (const p of Array.from({ length: r.int(3, 4) }, () => stranger({ mobile }))) {
      emitClient(p);
      truth.SHARED_CONTACT?.add(p.clnt);
    }
  }
  for (let ring = 0; ring < 2; ring += 1) {
    const city = r.pick(cities);
    const address = newAddress(city);
    for (const p of Array.from({ length: r.int(4, 5) }, () => stranger({ address }))) {
      emitClient(p);
      truth.SHARED_ADDRESS?.add(p.clnt);
    }
  }
  // Claim bursts, loaded as history: six to nine claims within a year, more than a year ago.
  for (let b = 0; b < 10; b += 1) {
    const p = stranger();
    emitClient(p);
    const no = emitPolicy([
      [p.clnt, 'OW', null],
      [p.clnt, 'LF', 'SF'],
    ]);
    const start = r.int(420, 700);
    for (let k = 0; k < r.int(6, 9); k += 1) emitClaim(p, no, start - r.int(0, 330), r.int(500, 3000));
    truth.CLAIMS_IN_WINDOW?.add(p.clnt);
  }
  // High cumulative payouts: two claims of 60,000–80,000 within two years.
  for (let b = 0; b < 3; b += 1) {
    const p = stranger();
    emitClient(p);
    const no = emitPolicy([
      [p.clnt, 'OW', null],
      [p.clnt, 'LF', 'SF'],
    ]);
    emitClaim(p, no, r.int(300, 400), r.int(60_000, 80_000));
    emitClaim(p, no, r.int(100, 200), r.int(60_000, 80_000));
    truth.CUMULATIVE_PAID?.add(p.clnt);
  }
  // High loss ratios: premiums of 2,000 and one claim of 9,000–12,000 in the last two years.
  for (let b = 0; b < 3; b += 1) {
    const p = stranger();
    emitClient(p);
    const no = emitPolicy([
      [p.clnt, 'OW', null],
      [p.clnt, 'LF', 'SF'],
    ]);
    emitPayment(p, no, 2000, null, r.int(300, 500));
    emitClaim(p, no, r.int(50, 250), r.int(9000, 12_000));
    truth.LOSS_RATIO?.add(p.clnt);
  }
  // Early claims: an incident 20–80 days after the policy began.
  for (let b = 0; b < 5; b += 1) {
    const p = stranger();
    emitClient(p);
    const began = r.int(200, 600);
    const no = emitPolicy(
      [
        [p.clnt, 'OW', null],
        [p.clnt, 'LF', 'SF'],
      ],
      began,
    );
    emitClaim(p, no, began - r.int(20, 80), r.int(2000, 6000));
    truth.EARLY_CLAIM?.add(p.clnt);
  }
  // One incident claimed on two policies.
  for (let b = 0; b < 2; b += 1) {
    const p = stranger();
    emitClient(p);
    const nos = [0, 1].map(() =>
      emitPolicy([
        [p.clnt, 'OW', null],
        [p.clnt, 'LF', 'SF'],
      ]),
    );
    const when = r.int(100, 600);
    for (const no of nos) emitClaim(p, no, when, r.int(2000, 5000));
    truth.MULTI_POLICY_INCIDENT?.add(p.clnt);
  }
  return { messages, truth, households, people: clients };
}
