import { type Row } from '../connectors/core-policy/fixtures/events.ts';
import { usccCheckChar } from '../domain/normalize/uscc.ts';
import { compound, givenName, surnameWeights } from './chinese-names.ts';
import { places } from './places.ts';
import {
  DEMO_CUSTOMER,
  daysIn,
  email,
  landline,
  mobileFormat,
  occupations,
  otherMobileFormat,
  pad,
  type Person,
  pinyinOf,
  toTraditional,
  withCheck,
} from './core-policy-values.ts';
import type { CoreGen } from './core-policy-gen.ts';

/**
 * The clients of the demo: the documented demo customer, persons and companies with the warts sources have, and
 * about one person in ten again under a second client number.
 */
export function generateClients(g: CoreGen): { people: Person[]; duplicates: Person[]; clients: Person[] } {
  const { r, at, clientCount, freshMobile, address } = g;
  const people: Person[] = [];
  const duplicates: Person[] = [];
  // The documented demo customer.
  const demoRow: Row = {
    CLNTNUM: DEMO_CUSTOMER.clientNo,
    CLTTYPE: 'P',
    SURNAME: '王',
    GIVNAME: '小明',
    LGIVNAME: null,
    CLTSEX: 'M',
    CLTDOB: 19850307,
    IDTYPE: '01',
    IDNO: DEMO_CUSTOMER.idNumber,
    MOBILE: DEMO_CUSTOMER.mobile,
    PHONE: '010-65001234',
    EMAIL: 'wang.xiaoming@example.cn',
    ADDR1: '北京市朝阳区',
    ADDR2: '建国路88号',
    ADDR3: 'SOHO现代城A座1201',
    POSTCODE: '100022',
    OCCPCODE: 'A102',
    DTEUPD: at(0),
  };
  people.push({
    clientNo: DEMO_CUSTOMER.clientNo,
    row: demoRow,
    kind: 'P',
    adult: true,
    mobile: DEMO_CUSTOMER.mobile,
    idNo: DEMO_CUSTOMER.idNumber,
  });

  for (let i = 1; i <= clientCount; i += 1) {
    const clientNo = `C${pad(1000000 + i, 7)}`;
    const place = r.pick(places);
    if (r.chance(0.04)) {
      // A company client: unified social credit code (registration authority 9, category 1, region, 9-char
      // organisation code, check character); one in six an early pilot code that fails the check.
      const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
      const org = Array.from({ length: 9 }, (_, k) =>
        k < 8 && r.chance(0.2) ? r.pick([...alphabet.slice(10)]) : String(r.int(0, 9)),
      ).join('');
      const first17 = `91${place.region}${org}`;
      const check = usccCheckChar(first17) ?? '0';
      const code = r.chance(1 / 6) ? `${first17}${check === '0' ? '1' : '0'}` : `${first17}${check}`;
      const brand = `${r.pick(['华信', '远航', '鼎盛', '恒通', '海川', '瑞丰', '中科', '新纪元'])}${r.pick(['科技', '贸易', '物流', '建设', '医药', '电子'])}`;
      const legal = r.weighted([
        [`${place.district.replace(/^.*?省/, '').slice(0, 2)}${brand}有限公司`, 5],
        [`${brand}(中国)有限公司`, 2],
        [`${brand}股份有限公司`, 3],
      ]);
      const row: Row = {
        CLNTNUM: clientNo,
        CLTTYPE: 'C',
        SURNAME: null,
        GIVNAME: null,
        LGIVNAME: legal,
        CLTSEX: null,
        CLTDOB: 0,
        IDTYPE: '08',
        IDNO: code,
        MOBILE: null,
        PHONE: r.chance(0.3) ? `400-${r.int(100, 999)}-${pad(r.int(0, 9999), 4)}` : landline(r, place),
        EMAIL: r.chance(0.5) ? `hr${i}@example.com` : null,
        ...address(place),
        OCCPCODE: null,
        DTEUPD: at(i),
      };
      people.push({ clientNo, row, kind: 'C', adult: true, mobile: null, idNo: code });
      continue;
    }

    const child = r.chance(0.08);
    const sex = r.chance(0.5) ? 'M' : 'F';
    const year = child ? r.int(2008, 2022) : r.int(1950, 2002);
    const month = r.int(1, 12);
    const day = r.int(1, daysIn(year, month));
    const dob = `${year}${pad(month, 2)}${pad(day, 2)}`;
    const seq = r.int(0, 99) * 10 + (sex === 'M' ? r.pick([1, 3, 5, 7, 9]) : r.pick([0, 2, 4, 6, 8]));
    const birthplace = r.chance(0.8) ? place : r.pick(places);
    const first17 = `${birthplace.region}${dob}${pad(seq, 3)}`;
    let idNo = withCheck(first17);
    let idType = child && r.chance(0.3) ? '02' : '01'; // children are often identified by the household register
    let idOk = true;
    const roll = r.next();
    if (roll < 0.03) {
      idNo = `${first17}${r.pick([...'0123456789X'].filter((c) => c !== idNo[17]))}`; // bad check character
      idOk = false;
    } else if (roll < 0.05) {
      idNo = first17; // 17 digits: the check character was lost
      idOk = false;
    } else if (roll < 0.07 && year < 1985) {
      idNo = `${birthplace.region}${dob.slice(2)}${pad(seq, 3)}`; // legacy 15-digit card, never re-registered
    } else if (roll < 0.1 && !child) {
      idType = '03';
      idNo = `${r.pick(['E', 'E', 'G'])}${pad(r.int(10000000, 99999999), 8)}`;
      idOk = false;
    }

    const surname = r.chance(0.03) ? r.pick(compound) : r.weighted(surnameWeights);
    const given = givenName(r, sex, child || r.chance(0.6));
    let SURNAME = surname;
    let GIVNAME = given;
    const script = r.next();
    if (script < 0.03) {
      SURNAME = pinyinOf(surname, true).toUpperCase();
      GIVNAME = r.pick([pinyinOf(given).toUpperCase(), [...given].map((c) => pinyinOf(c).toUpperCase()).join(' ')]);
    } else if (script < 0.05) {
      SURNAME = toTraditional(surname);
      GIVNAME = toTraditional(given);
    }

    let CLTDOB: number = Number(dob);
    if (r.chance(0.03)) CLTDOB = r.pick([0, 99999999]);
    else if (r.chance(0.01)) CLTDOB = Number(`${year}${pad(month, 2)}${pad(day === 1 ? 2 : day - 1, 2)}`); // typo: disagrees with the id

    const mobile = !child && r.chance(0.92) ? freshMobile() : null;
    let MOBILE: string | null = mobile === null ? null : mobileFormat(r, mobile);
    if (!child && mobile === null && r.chance(0.3)) MOBILE = r.pick(['无', '00000000000', 'N/A']);
    const row: Row = {
      CLNTNUM: clientNo,
      CLTTYPE: 'P',
      SURNAME,
      GIVNAME,
      LGIVNAME: null,
      CLTSEX: r.chance(0.02) ? 'U' : sex,
      CLTDOB,
      IDTYPE: idType,
      IDNO: idNo,
      MOBILE,
      PHONE: !child && r.chance(0.15) ? landline(r, place) : null,
      EMAIL: !child && r.chance(0.35) ? email(r, surname, given, year) : null,
      ...address(place),
      OCCPCODE: child ? null : r.pick(occupations),
      DTEUPD: at(i),
    };
    const person: Person = { clientNo, row, kind: 'P', adult: !child, mobile, idNo };
    people.push(person);

    // The same person again under a second client number (a second sale, a branch that did not search first):
    // same resident id, the name written another way, the mobile in another format, no email.
    if (idType === '01' && idOk && r.chance(0.11)) {
      const variant = r.pick(['traditional', 'pinyin', 'spaced'] as const);
      let dupSurname = surname;
      let dupGiven = given;
      if (variant === 'traditional' && toTraditional(surname + given) !== surname + given) {
        dupSurname = toTraditional(surname);
        dupGiven = toTraditional(given);
      } else if (variant === 'spaced' && given.length > 1) {
        dupGiven = `${given.slice(0, 1)}\u3000${given.slice(1)}`; // a full-width space typed inside the name
      } else {
        dupSurname = pinyinOf(surname, true).toUpperCase();
        dupGiven = pinyinOf(given).toUpperCase();
      }
      const dupNo = `C${pad(2000000 + i, 7)}`;
      const dup: Row = {
        ...row,
        CLNTNUM: dupNo,
        SURNAME: dupSurname,
        GIVNAME: dupGiven,
        CLTDOB: Number(dob),
        IDNO: r.chance(0.2) ? idNo.toLowerCase() : idNo,
        MOBILE: mobile === null ? null : otherMobileFormat(r, mobile, MOBILE),
        EMAIL: null,
        DTEUPD: at(clientCount + i),
      };
      duplicates.push({ clientNo: dupNo, row: dup, kind: 'P', adult: !child, mobile, idNo });
    }
  }
  const clients = [...people, ...duplicates];
  return { people, duplicates, clients };
}
