import { residentIdCheckChar } from '../src/domain/normalize/resident-id.ts';
import { givenName, surnameWeights, traditionalOf } from '../src/demo/chinese-names.ts';
import { type Random, seeded } from '../src/demo/random.ts';
import type { CanonicalAttribute } from '../src/sync/match/engine/match-record.ts';

/**
 * A hard entity-resolution set in the shape of an insurer's customers: people in households, each person with
 * one to six records from different sources, heavily corrupted (typos and homophones in names, traditional
 * characters, birth-date typos and day/month swaps, missing ids, phones in other formats, e-mail and address
 * variants), and contact points legitimately shared by different people: a household landline, a child whose
 * record carries a parent's mobile, a spouse giving the partner's mobile, an agent's own mobile typed into
 * several leads, a company switchboard on its employees' records, and numbers recycled to a new subscriber.
 * Nobody tuned the engine on it. Returns each record's true person.
 */
export type ErRow = {
  source: string;
  recordId: string;
  entity: string;
  attributes: Partial<Record<CanonicalAttribute, string | null>>;
};

type Person = {
  entity: string;
  family: string;
  given: string;
  sex: 'M' | 'F';
  birth: string;
  id: string | null;
  mobile: string | null;
  email: string | null;
  address: string;
  city: string;
  postcode: string;
};

const cities = [
  { region: '330106', name: '杭州市西湖区', post: '3100' },
  { region: '310104', name: '上海市徐汇区', post: '2000' },
  { region: '110105', name: '北京市朝阳区', post: '1000' },
  { region: '440106', name: '广州市天河区', post: '5106' },
  { region: '510107', name: '成都市武侯区', post: '6100' },
];
const streets = ['建国路', '中山路', '人民路', '解放路', '和平路', '长江路', '文三路', '延安路', '西湖路'];
/** Characters typed for one another (same pinyin or shape). */
const confusable: Record<string, string> = {
  明: '铭',
  伟: '玮',
  丽: '莉',
  静: '婧',
  军: '君',
  华: '桦',
  英: '瑛',
  芳: '芬',
  敏: '民',
  杰: '洁',
  强: '蔷',
  磊: '垒',
  涛: '滔',
  燕: '艳',
  玲: '琳',
};

/** `extras` scales the agents, companies and recycled numbers (1 = 30 agents, 20 companies, 300 numbers). */
export function generateErPopulation(opts: { households: number; seed?: number; extras?: number }): ErRow[] {
  const r: Random = seeded(opts.seed ?? 23);
  const rows: ErRow[] = [];
  let people = 0;
  let records = 0;
  let seq = 0;
  const mobile = () => `1${r.pick(['3', '5', '8', '9'])}${String(r.int(0, 999_999_999)).padStart(9, '0')}`;
  const newPerson = (
    city: (typeof cities)[number],
    over: Partial<Person> & { age: number; sex: 'M' | 'F' },
  ): Person => {
    people += 1;
    seq += 1;
    const year = 2026 - over.age;
    const birth = `${year}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`;
    const first17 = `${city.region.slice(0, 2)}${String(Math.floor(seq / 99) % 10_000).padStart(4, '0')}${birth.replaceAll('-', '')}${String((seq % 99) * 10 + (over.sex === 'M' ? 1 : 2)).padStart(3, '0')}`;
    return {
      entity: `p${people}`,
      family: over.family ?? r.weighted(surnameWeights),
      given: givenName(r, over.sex, r.chance(0.75)),
      sex: over.sex,
      birth,
      id: over.age >= 16 || r.chance(0.5) ? `${first17}${residentIdCheckChar(first17)}` : null,
      mobile: over.mobile === undefined ? (r.chance(0.9) ? mobile() : null) : over.mobile,
      email: r.chance(0.35) ? `u${people}@${r.pick(['qq.com', '163.com', 'example.cn'])}` : null,
      address: over.address ?? `${city.name}${r.pick(streets)}${r.int(1, 300)}号${r.int(1, 30)}幢${r.int(101, 2402)}室`,
      city: city.name,
      postcode: `${city.post}${String(r.int(10, 99))}`,
    };
  };
  const corruptName = (s: string) => {
    let out = [...s].map((c) => (r.chance(0.25) ? (traditionalOf[c] ?? c) : c)).join('');
    if (r.chance(0.15)) out = [...out].map((c) => (r.chance(0.5) ? (confusable[c] ?? c) : c)).join('');
    return out;
  };
  const corruptDate = (d: string) => {
    const roll = r.next();
    if (roll < 0.08) return `${d.slice(0, 5)}${d.slice(8, 10)}-${d.slice(5, 7)}`; // day and month swapped
    if (roll < 0.16) {
      const i = r.pick([2, 3, 5, 6, 8, 9]);
      return `${d.slice(0, i)}${r.int(0, 9)}${d.slice(i + 1)}`;
    }
    return d;
  };
  const corruptPhone = (p: string) =>
    r.chance(0.3)
      ? `+86 ${p.slice(0, 3)} ${p.slice(3, 7)} ${p.slice(7)}`
      : r.chance(0.1)
        ? `${p.slice(0, 3)}-${p.slice(3)}`
        : p;
  /** One source's copy of a person, with that source's habits and noise; contact overrides model sharing. */
  const emit = (p: Person, source: string, contact: { phone?: string | null } = {}) => {
    records += 1;
    const missing = (x: string | null, rate: number) => (x !== null && r.chance(rate) ? null : x);
    rows.push({
      source,
      recordId: `${source}-${records}`,
      entity: p.entity,
      attributes: {
        familyName: corruptName(p.family),
        givenName: r.chance(0.03) ? null : corruptName(p.given),
        birthDate: missing(corruptDate(p.birth), 0.1),
        sex: missing(p.sex, 0.2),
        idNumber: missing(p.id, 0.45),
        phone: (() => {
          const ph = contact.phone !== undefined ? contact.phone : p.mobile;
          return ph === null ? null : missing(corruptPhone(ph), 0.2);
        })(),
        email: missing(p.email, 0.5),
        addressLine: r.chance(0.5) ? p.address : r.chance(0.5) ? p.address.replace(/幢/, '栋') : null,
        city: p.city,
        postcode: missing(p.postcode, 0.5),
      },
    });
  };
  const sources = ['core', 'billing', 'claims', 'app', 'callcentre', 'bank'];
  /** A person's records: one to six, most people one or two. */
  const emitAll = (p: Person, contact: (source: string) => { phone?: string | null } = () => ({})) => {
    const n = r.weighted([
      [1, 35],
      [2, 30],
      [3, 18],
      [4, 9],
      [5, 5],
      [6, 3],
    ] as const);
    for (let i = 0; i < n; i += 1) {
      const source = sources[i] as string;
      emit(p, source, contact(source));
    }
  };

  for (let h = 0; h < opts.households; h += 1) {
    const city = r.pick(cities);
    const roll = r.next();
    const size = roll < 0.35 ? 1 : roll < 0.6 ? 2 : r.int(3, 5);
    const head = newPerson(city, { age: r.int(28, 65), sex: r.chance(0.5) ? 'M' : 'F' });
    const landline = r.chance(0.5)
      ? `0${r.int(10, 99)}-${r.int(6, 8)}${String(r.int(0, 9_999_999)).padStart(7, '0')}`
      : null;
    const members: Person[] = [head];
    if (size >= 2)
      members.push(newPerson(city, { age: r.int(28, 65), sex: head.sex === 'M' ? 'F' : 'M', address: head.address }));
    for (let c = 2; c < size; c += 1) {
      const age = r.int(2, 30);
      members.push(
        newPerson(city, {
          age,
          sex: r.chance(0.5) ? 'M' : 'F',
          family: head.sex === 'M' ? head.family : (members[1]?.family ?? head.family),
          address: head.address,
          // A child's record often carries a parent's mobile.
          mobile: age < 16 ? (r.chance(0.7) ? head.mobile : null) : undefined,
        }),
      );
    }
    for (const m of members)
      emitAll(m, (source) => {
        // The household landline on some records; a spouse giving the partner's mobile on one source.
        if (landline && r.chance(0.25)) return { phone: landline };
        if (m === members[1] && source === 'app' && r.chance(0.3)) return { phone: head.mobile };
        return {};
      });
  }
  // Agents' own mobiles typed into their leads; company switchboards on employees' records.
  const extras = opts.extras ?? 1;
  for (let a = 0; a < Math.round(30 * extras); a += 1) {
    const agentMobile = mobile();
    for (let l = r.int(3, 12); l > 0; l -= 1) {
      const p = newPerson(r.pick(cities), { age: r.int(22, 60), sex: r.chance(0.5) ? 'M' : 'F' });
      emit(p, 'agency', { phone: agentMobile });
      if (r.chance(0.5)) emit(p, 'core');
    }
  }
  for (let c = 0; c < Math.round(20 * extras); c += 1) {
    const switchboard = `0571-8${String(r.int(0, 9_999_999)).padStart(7, '0')}`;
    for (let e = r.int(5, 40); e > 0; e -= 1) {
      const p = newPerson(r.pick(cities), { age: r.int(22, 60), sex: r.chance(0.5) ? 'M' : 'F' });
      emit(p, 'group', { phone: switchboard });
      if (r.chance(0.5)) emit(p, 'core');
    }
  }
  // Recycled numbers: an old subscriber's record and a new subscriber's, years apart, on one number.
  for (let k = 0; k < Math.round(300 * extras); k += 1) {
    const number = mobile();
    const city = r.pick(cities);
    emit(newPerson(city, { age: r.int(40, 80), sex: r.chance(0.5) ? 'M' : 'F', mobile: number }), 'core');
    emit(newPerson(city, { age: r.int(20, 40), sex: r.chance(0.5) ? 'M' : 'F', mobile: number }), 'app');
  }
  return rows;
}
