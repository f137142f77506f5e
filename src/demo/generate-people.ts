import type { CanonicalAttribute } from '../sync/match/engine/match-record.ts';
import { residentIdCheckChar } from '../domain/normalize/resident-id.ts';
import { cities, givenChars, surnames } from './generate-core-policy.ts';
import { seeded } from './random.ts';

/**
 * Flat person records for matching benchmarks: `count` records of which about `duplicateRate` are second
 * copies of an earlier person from another source, with realistic noise (traditional characters, a phone in
 * another format, a missing id, a typo in the birth date). Returns the true entity of each record.
 */
export type PersonRow = {
  source: string;
  recordId: string;
  entity: number;
  attributes: Partial<Record<CanonicalAttribute, string | null>>;
};

const traditional: Record<string, string> = {
  张: '張',
  陈: '陳',
  刘: '劉',
  杨: '楊',
  黄: '黃',
  赵: '趙',
  吴: '吳',
  孙: '孫',
  马: '馬',
  郑: '鄭',
  伟: '偉',
  丽: '麗',
  军: '軍',
  晓: '曉',
  红: '紅',
  华: '華',
  国: '國',
  东: '東',
};

const streets = [
  '建国路',
  '中山路',
  '人民路',
  '解放路',
  '和平路',
  '长江路',
  '黄河路',
  '新华路',
  '文化路',
  '胜利路',
  '光明街',
  '青年路',
  '朝阳路',
  '东风路',
  '西湖路',
];

export function generatePeople(count: number, opts: { seed?: number; duplicateRate?: number } = {}): PersonRow[] {
  const r = seeded(opts.seed ?? 7);
  const rate = opts.duplicateRate ?? 0.2;
  const rows: PersonRow[] = [];
  const originals: PersonRow[] = [];
  for (let k = 0; rows.length < count; k += 1) {
    if (originals.length > 0 && r.chance(rate)) {
      const o = r.pick(originals);
      const a = { ...o.attributes };
      a.familyName = [...(a.familyName ?? '')].map((c) => traditional[c] ?? c).join('');
      a.givenName = [...(a.givenName ?? '')].map((c) => traditional[c] ?? c).join('');
      if (r.chance(0.3)) a.idNumber = null;
      if (r.chance(0.3) && a.phone) a.phone = `+86 ${a.phone.slice(0, 3)} ${a.phone.slice(3, 7)} ${a.phone.slice(7)}`;
      if (r.chance(0.1) && a.birthDate)
        a.birthDate = `${a.birthDate.slice(0, 8)}${a.birthDate.slice(9)}${a.birthDate.slice(8, 9)}`;
      rows.push({ source: 'b', recordId: `b${k}`, entity: o.entity, attributes: a });
      continue;
    }
    const city = r.pick(cities);
    const district = r.int(1, 60);
    const sex = r.chance(0.5) ? 'M' : 'F';
    const dob = `${r.int(1950, 2005)}${String(r.int(1, 12)).padStart(2, '0')}${String(r.int(1, 28)).padStart(2, '0')}`;
    const seq = r.int(0, 99) * 10 + (sex === 'M' ? 1 : 2);
    const first17 = `${city.region}${dob}${String(seq).padStart(3, '0')}`;
    const given = r.chance(0.4) ? r.pick(givenChars) : `${r.pick(givenChars)}${r.pick(givenChars)}`;
    const row: PersonRow = {
      source: 'a',
      recordId: `a${k}`,
      entity: k,
      attributes: {
        familyName: r.pick(surnames),
        givenName: given,
        birthDate: `${dob.slice(0, 4)}-${dob.slice(4, 6)}-${dob.slice(6)}`,
        sex,
        idNumber: r.chance(0.9) ? `${first17}${residentIdCheckChar(first17)}` : null,
        phone: r.chance(0.85)
          ? `1${r.pick(['3', '5', '8', '9'])}${String(r.int(0, 999999999)).padStart(9, '0')}`
          : null,
        email: r.chance(0.3) ? `u${k}@example.cn` : null,
        addressLine: r.chance(0.7) ? `${r.pick(streets)}${r.int(1, 300)}号${r.int(1, 30)}0${r.int(1, 9)}室` : null,
        city: `${city.addr[0] ?? ''}${district}街道`,
        postcode: `${city.post.slice(0, 4)}${String(district).padStart(2, '0')}`,
      },
    };
    rows.push(row);
    originals.push(row);
  }
  return rows;
}
