import { type Row } from '../connectors/core-policy/fixtures/events.ts';
import { namePinyin } from '../domain/normalize/name.ts';
import { residentIdCheckChar } from '../domain/normalize/resident-id.ts';
import type { Random } from './random.ts';
import { traditionalOf } from './chinese-names.ts';
import type { Place } from './places.ts';

/** Values and formats the core-policy demo generator draws from (products, ids, mobiles, landlines, emails). */
export type DemoMessage = { topic: string; key: string; value: string | null };

/**
 * The documented demo customer: search for 王小明 or 13800138000 (any format). Policyholder on P9000001–3
 * (insured on P9000001 and P9000003, payer on P9000001 and P9000002, beneficiary of his child's P9000002;
 * P9000003 lapsed), and beneficiary on P9000004, which belongs to another client.
 */
export const DEMO_CUSTOMER = {
  name: '王小明',
  mobile: '13800138000',
  clientNo: 'C9000001',
  idNumber: withCheck('11010519850307123'),
  birthDate: '1985-03-07',
  sex: 'M',
  policyholderOf: ['P9000001', 'P9000002', 'P9000003'],
  insuredOn: ['P9000001', 'P9000003'],
  payerOn: ['P9000001', 'P9000002'],
  beneficiaryOn: ['P9000002', 'P9000004'],
} as const;

export const products = [
  { code: 'WL1', main: 'WL1M', rate: 0.028 }, // whole life
  { code: 'CI2', main: 'CI2M', rate: 0.022 }, // critical illness
  { code: 'END', main: 'ENDM', rate: 0.09 }, // endowment
  { code: 'TL1', main: 'TL1M', rate: 0.004 }, // term life
  { code: 'HOS', main: 'HOSM', rate: 0.012 }, // hospitalisation
] as const;
export const riders = ['ADD1', 'HOS1', 'WOP1', 'CI1A'];
export const occupations = ['A101', 'A102', 'B201', 'B202', 'C301', 'D401'];

export function withCheck(first17: string): string {
  return `${first17}${residentIdCheckChar(first17)}`;
}

export const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const money = (n: number) => n.toFixed(2);
export const fullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
export const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

export type Person = {
  clientNo: string;
  row: Row;
  kind: 'P' | 'C';
  adult: boolean;
  mobile: string | null;
  idNo: string | null;
};
export type Policy = { row: Row; covers: Row[]; roles: Row[] };

export function mobileFormats(m: string): string[] {
  const [a, b, c] = [m.slice(0, 3), m.slice(3, 7), m.slice(7)];
  return [
    m,
    `+86 ${a} ${b} ${c}`,
    `0086${m}`,
    `86 ${m}`,
    `+86-${a}-${b}-${c}`,
    `${a}-${b}-${c}`,
    `${a} ${b} ${c}`,
    fullWidth(m),
    `+86${m}`,
  ];
}

export function mobileFormat(r: Random, m: string): string {
  const forms = mobileFormats(m);
  return r.weighted(forms.map((f, i) => [f, [55, 10, 5, 5, 5, 8, 7, 3, 2][i] ?? 1] as const));
}

/** Another written form of the same mobile than `current`. */
export function otherMobileFormat(r: Random, m: string, current: string | null): string {
  const forms = mobileFormats(m).filter((f) => f !== current);
  return r.pick(forms);
}

export function landline(r: Random, place: Place): string {
  const sub = `${r.int(2, 8)}${pad(r.int(0, 9999999), 7)}`;
  return r.weighted([
    [`${place.area}-${sub}`, 60],
    [`(${place.area})${sub}`, 15],
    [`${place.area} ${sub.slice(0, 4)} ${sub.slice(4)}`, 15],
    [`${place.area}-${sub}转${r.int(100, 899)}`, 10],
  ]);
}

export function pinyinOf(s: string, surname = false): string {
  return namePinyin(s, { surname }) ?? s;
}

export function toTraditional(s: string): string {
  return [...s].map((c) => traditionalOf[c] ?? c).join('');
}

export function email(r: Random, surname: string, given: string, year: number): string {
  const local = r.weighted([
    [`${pinyinOf(surname, true)}${pinyinOf(given)}`, 4],
    [`${pinyinOf(given)}.${pinyinOf(surname, true)}`, 2],
    [`${pinyinOf(surname, true)}${pinyinOf(given)}${String(year).slice(2)}`, 3],
    [String(r.int(10000000, 999999999)), 3],
  ]);
  const domain = r.pick(['example.com', 'example.cn', 'example.net', 'mail.example.com']);
  return r.chance(0.05) ? ` ${local.toUpperCase()}@${domain.toUpperCase()}` : `${local}@${domain}`;
}
