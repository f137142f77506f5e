import { residentIdCheckChar } from '../domain/normalize/resident-id.ts';
import { usccCheckChar } from '../domain/normalize/uscc.ts';
import { compound, givenName, surnameWeights } from './chinese-names.ts';
import { type Place, places } from './places.ts';
import {
  daysIn,
  email,
  landline,
  mobileFormat,
  occupations,
  pad,
  pinyinOf,
  toTraditional,
} from './core-policy-values.ts';
import type { Random } from './random.ts';

/**
 * The people of the scale population (generate-population.ts), one unit at a time: a household (one to five
 * people at one address, often sharing a landline; spouses keep their own surnames; a minor's record often
 * carries a parent's mobile) or, rarely, a company with its staff (a switchboard on every employee's record).
 * Numbers are unique by construction, from the person's sequence number, so nothing has to remember what was
 * drawn before: mobiles are a bijection of it (a multiplier coprime with 10^9), resident ids count a hundred
 * people per four-digit region block (as bench/risk-population.ts does); unique up to 1,000,000 people per
 * province, and beyond that a clash needs the same province, birth date and block as well.
 */
export type Member = {
  seq: number;
  clientNo: string;
  kind: 'P' | 'C';
  surname: string;
  given: string;
  /** As the core system holds it (a few in pinyin or traditional characters). */
  coreSurname: string;
  coreGiven: string;
  /** Organisations: the registered name. */
  orgName: string | null;
  sex: 'M' | 'F';
  /** YYYYMMDD. */
  birth: string;
  adult: boolean;
  idType: string | null;
  idNo: string | null;
  /** A valid 18-digit resident id (other systems can key on it). */
  residentId: boolean;
  /** The mobile's digits (null: none); `mobileAsWritten` is how the core system holds it. */
  mobile: string | null;
  mobileAsWritten: string | null;
  landline: string | null;
  email: string | null;
  place: Place;
  address: { ADDR1: string; ADDR2: string; ADDR3: string | null; POSTCODE: string };
};
/** `prospect`: a person no policy system knows yet (an agent's lead, perhaps the app): a golden customer too. */
export type Unit = { kind: 'household' | 'company' | 'prospect'; members: Member[] };

/** A customer's mobile: unique per sequence number (3^18 is coprime with 10^9, so the tails never repeat). */
export const mobileOf = (r: Random, seq: number): string =>
  `1${r.weighted([
    ['3', 35],
    ['5', 20],
    ['7', 8],
    ['8', 30],
    ['9', 7],
  ])}${pad((seq * 387_420_489 + 7_654_321) % 1_000_000_000, 9)}`;

export type UnitState = { people: number };

const withCheck = (first17: string): string => `${first17}${residentIdCheckChar(first17)}`;

export function nextUnit(r: Random, state: UnitState): Unit {
  const place = r.pick(places);
  const address = {
    ADDR1: place.district,
    ADDR2: `${r.pick(place.streets)}${r.int(1, 300)}号`,
    ADDR3: r.chance(0.8) ? `${r.int(1, 30)}栋${r.int(1, 30)}${pad(r.int(1, 8), 2)}室` : null,
    POSTCODE: place.post,
  };
  const person = (over: {
    age: [number, number];
    sex?: 'M' | 'F';
    surname?: string;
    landline: string | null;
    mobile?: string | null;
    address?: Member['address'];
  }): Member => {
    state.people += 1;
    const seq = state.people;
    const sex = over.sex ?? (r.chance(0.5) ? 'M' : 'F');
    const year = 2026 - r.int(over.age[0], over.age[1]);
    const month = r.int(1, 12);
    const dob = `${year}${pad(month, 2)}${pad(r.int(1, daysIn(year, month)), 2)}`;
    const adult = year <= 2008;
    const surname = over.surname ?? (r.chance(0.03) ? r.pick(compound) : r.weighted(surnameWeights));
    const given = givenName(r, sex, !adult || r.chance(0.6));
    // The region block and sequence identify the person: unique for up to 1,000,000 people per province.
    const region = `${place.region.slice(0, 2)}${pad(Math.floor(seq / 100) % 10_000, 4)}`;
    const seq3 = pad((seq % 100) * 10 + (sex === 'M' ? r.pick([1, 3, 5, 7, 9]) : r.pick([0, 2, 4, 6, 8])), 3);
    let idType: string | null = !adult && r.chance(0.3) ? '02' : '01';
    let idNo: string | null = withCheck(`${region}${dob}${seq3}`);
    let residentId = idType === '01';
    const roll = r.next();
    if (roll < 0.02) {
      idNo = `${idNo.slice(0, 17)}${idNo[17] === '0' ? '1' : '0'}`; // a bad check character
      residentId = false;
    } else if (roll < 0.03) {
      idNo = idNo.slice(0, 17); // the check character lost
      residentId = false;
    } else if (roll < 0.05 && adult) {
      idType = '03';
      idNo = `E${pad(seq % 100_000_000, 8)}`; // a passport
      residentId = false;
    } else if (roll < 0.06) {
      idType = null;
      idNo = null;
      residentId = false;
    }
    let coreSurname = surname;
    let coreGiven = given;
    const script = r.next();
    if (script < 0.03) {
      coreSurname = pinyinOf(surname, true).toUpperCase();
      coreGiven = pinyinOf(given).toUpperCase();
    } else if (script < 0.05) {
      coreSurname = toTraditional(surname);
      coreGiven = toTraditional(given);
    }
    const mobile = over.mobile !== undefined ? over.mobile : adult && r.chance(0.92) ? mobileOf(r, seq) : null;
    return {
      seq,
      clientNo: `C${pad(1_000_000 + seq, 7)}`,
      kind: 'P',
      surname,
      given,
      coreSurname,
      coreGiven,
      orgName: null,
      sex,
      birth: dob,
      adult,
      idType,
      idNo,
      residentId,
      mobile,
      mobileAsWritten: mobile === null ? null : mobileFormat(r, mobile),
      landline: over.landline,
      email: adult && r.chance(0.35) ? email(r, surname, given, year) : null,
      place,
      address: over.address ?? address,
    };
  };

  if (r.chance(0.005)) {
    // A company and its staff: the switchboard on every employee's record, each employee at their own address.
    const switchboard = `${place.area}-${r.int(6, 8)}${pad(r.int(0, 9_999_999), 7)}`;
    const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
    const org = Array.from({ length: 9 }, () => alphabet[r.int(0, 30)] ?? '0').join('');
    const first17 = `91${place.region}${org}`;
    state.people += 1;
    const seq = state.people;
    const brand = `${r.pick(['华信', '远航', '鼎盛', '恒通', '海川', '瑞丰', '中科', '新纪元'])}${r.pick(['科技', '贸易', '物流', '建设', '医药', '电子'])}`;
    const company: Member = {
      seq,
      clientNo: `C${pad(1_000_000 + seq, 7)}`,
      kind: 'C',
      surname: '',
      given: '',
      coreSurname: '',
      coreGiven: '',
      orgName: `${place.district.replace(/^.*?省/, '').slice(0, 2)}${brand}${pad(seq % 10_000, 4)}有限公司`,
      sex: 'M',
      birth: '',
      adult: true,
      idType: '08',
      idNo: `${first17}${usccCheckChar(first17) ?? '0'}`,
      residentId: false,
      mobile: null,
      mobileAsWritten: null,
      landline: switchboard,
      email: null,
      place,
      address,
    };
    const staff = Array.from({ length: r.int(3, 8) }, () =>
      person({
        age: [22, 58],
        landline: switchboard,
        address: { ...address, ADDR2: `${r.pick(place.streets)}${r.int(1, 300)}号`, ADDR3: null },
      }),
    );
    return { kind: 'company', members: [company, ...staff] };
  }

  if (r.chance(0.03)) return { kind: 'prospect', members: [person({ age: [22, 60], landline: null })] };
  // A household: 45 % singles, 25 % couples, 30 % families of three to five.
  const roll = r.next();
  const size = roll < 0.45 ? 1 : roll < 0.7 ? 2 : r.int(3, 5);
  const shared = r.chance(size === 1 ? 0.3 : 0.7) ? landline(r, place) : null;
  const head = person({ age: [26, 65], landline: shared });
  const members = [head];
  if (size >= 2) members.push(person({ age: [26, 65], sex: head.sex === 'M' ? 'F' : 'M', landline: shared }));
  for (let c = 2; c < size; c += 1) {
    const minor = r.chance(0.6);
    const child = person({
      age: minor ? [2, 17] : [18, 25],
      surname: head.surname,
      landline: shared,
      mobile: minor ? (r.chance(0.5) ? head.mobile : null) : undefined,
    });
    members.push(child);
  }
  return { kind: 'household', members };
}

export const occupationOf = (r: Random, m: Member): string | null => (m.adult ? r.pick(occupations) : null);
