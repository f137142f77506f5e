import type { Row } from '../connectors/core-policy/fixtures/events.ts';
import { money, pad, products, riders } from './core-policy-values.ts';
import { type Member, occupationOf } from './population-units.ts';
import type { Random } from './random.ts';

/** The core-policy rows of the scale population (generate-population.ts): a client, a policy with its covers. */
export function clientRow(r: Random, m: Member, dteupd: number): Row {
  const company = m.kind === 'C';
  return {
    CLNTNUM: m.clientNo,
    CLTTYPE: m.kind,
    SURNAME: company ? null : m.coreSurname,
    GIVNAME: company ? null : m.coreGiven,
    LGIVNAME: company ? m.orgName : null,
    CLTSEX: company ? null : r.chance(0.02) ? 'U' : m.sex,
    CLTDOB: company ? 0 : r.chance(0.02) ? 0 : Number(m.birth),
    IDTYPE: m.idType,
    IDNO: m.idNo,
    MOBILE: m.mobileAsWritten,
    PHONE: m.landline,
    EMAIL: m.email,
    ...m.address,
    OCCPCODE: company ? null : occupationOf(r, m),
    DTEUPD: dteupd,
  };
}

export function policyRows(r: Random, no: string, dteupd: number): { row: Row; covers: Row[] } {
  const product = r.pick(products);
  const status = r.weighted([
    ['IF', 80],
    ['LA', 7],
    ['RI', 3],
    ['SU', 4],
    ['MA', 2],
    ['CL', 2],
    ['CF', 2],
  ] as const);
  const year = r.int(2010, 2025);
  const month = r.int(1, 12);
  const dd = r.int(1, 28);
  const monthly = r.chance(0.3);
  const sum = r.int(5, 100) * 10_000;
  const covers: Row[] = [
    {
      CHDRNUM: no,
      COVERAGE: '01',
      RIDER: '00',
      CRTABLE: product.main,
      SUMINS: money(sum),
      INSTPREM: money(sum * product.rate * (monthly ? 0.09 : 1)),
      STATCODE: status,
      DTEUPD: dteupd,
    },
  ];
  for (let k = 1; k <= r.int(0, 2); k += 1) {
    const riderSum = Math.round(sum / r.pick([2, 5, 10]));
    covers.push({
      CHDRNUM: no,
      COVERAGE: '01',
      RIDER: pad(k, 2),
      CRTABLE: riders[(k + r.int(0, 3)) % riders.length] ?? 'ADD1',
      SUMINS: money(riderSum),
      INSTPREM: money(riderSum * 0.002 * (monthly ? 0.09 : 1)),
      STATCODE: status,
      DTEUPD: dteupd,
    });
  }
  const premium = covers.reduce((s, c) => s + Number(c.INSTPREM), 0);
  const paidTo = status === 'IF' || status === 'RI' ? 2027 : Math.min(year + r.int(1, 5), 2026);
  const row: Row = {
    CHDRNUM: no,
    CNTTYPE: product.code,
    STATCODE: status,
    OCCDATE: Number(`${year}${pad(month, 2)}${pad(dd, 2)}`),
    PTDATE: Number(`${paidTo}${pad(month, 2)}${pad(dd, 2)}`),
    SINSTAMT: money(sum),
    INSTPREM: money(premium),
    BILLFREQ: monthly ? '12' : '01',
    SRCEBUS: r.weighted([
      ['AG', 55],
      ['BA', 25],
      ['TM', 10],
      ['WB', 10],
    ] as const),
    AGNTNUM: `AG${pad(r.int(1, 2000), 4)}`,
    DTEUPD: dteupd,
  };
  return { row, covers };
}
