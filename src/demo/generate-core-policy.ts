import { coreEvent, deleteWithTombstone, type Row } from '../connectors/core-policy/fixtures/events.ts';
import { namePinyin } from '../domain/normalize/name.ts';
import { residentIdCheckChar } from '../domain/normalize/resident-id.ts';
import { usccCheckChar } from '../domain/normalize/uscc.ts';
import { seeded, type Random } from './random.ts';

/**
 * Synthetic core-policy (LIFEDB) traffic for the demo and for load tests, exactly as the Debezium Oracle
 * connector publishes it (§1 of shared/sources/source-systems.md; envelopes built by
 * connectors/core-policy/fixtures/events.ts: `schemas.enable=true`, CHAR columns padded, dates as YYYYMMDD
 * integers with 0 / 99999999 for unknown, DTEUPD in microseconds, amounts as string decimals).
 *
 * Why synthetic: real customer data is personal information (PIPL) and never leaves production. Why seeded:
 * the same seed gives the same stream byte for byte, so a newcomer, a test and a bug report see one data set.
 *
 * What is in it, on purpose:
 * - persons with surnames drawn by frequency, some compound surnames (欧阳, 司马 …), a few written in
 *   pinyin only or in traditional characters; children (insured by their parents, some identified by the
 *   household register 02); a few companies (CLTTYPE C, IDTYPE 08, credit codes, one in six an early pilot
 *   code that fails the check);
 * - mostly valid 18-digit resident ids consistent with birth date and sex, and the warts: bad check
 *   character, 17 digits, legacy 15-digit numbers, a birth date that disagrees with the id, unknown birth
 *   dates, sex U; passports (03);
 * - mobiles in the mixed formats sources send (`+86 138 0013 8000`, `0086…`, `86 …`, dashes, full-width),
 *   landlines (`021-62345678`, `(021)62345678`, extensions, 400 numbers), a few placeholders (`无`);
 * - duplicates: about one person in ten also exists under a second client number (same resident id, name in
 *   traditional characters, pinyin or with a stray space, another phone format);
 * - policies with one main cover (RIDER 00) and 0–2 riders; roles OW / LF / BN / PY, beneficiary order and
 *   shares (per order they sum to 100), history roles (VALIDFLAG 2);
 * - stream order: one role before everything else (it arrives before its policy and its client), the snapshot
 *   (op r), then changes: client updates, lapses and a reinstatement, beneficiary changes (old role becomes
 *   history), one re-keyed client (delete + tombstone, create under a new number, its roles moved), one policy
 *   deleted (with its covers and roles, each followed by a tombstone), and new business whose roles arrive
 *   before the policy and the client.
 */
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

// Exported lists are also used by generate-people.ts (matching benchmarks): keep their contents stable.
export const surnames = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '马',
  '朱',
  '胡',
  '郭',
  '何',
  '林',
  '罗',
  '高',
  '郑',
  '梁',
  '谢',
  '宋',
  '唐',
  '许',
  '韩',
  '冯',
  '邓',
  '曹',
];
export const compound = ['欧阳', '司马', '上官', '诸葛', '东方'];
export const givenChars = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀',
  '霞',
  '平',
  '刚',
  '桂',
  '华',
  '建',
  '国',
  '文',
  '晓',
  '红',
  '玉',
  '海',
  '东',
  '雪',
  '婷',
  '鹏',
  '辉',
  '宇',
];
export const cities = [
  { region: '110105', addr: ['北京市朝阳区', '建国路88号'], post: '100022', area: '010' },
  { region: '310104', addr: ['上海市徐汇区', '漕溪北路18号'], post: '200030', area: '021' },
  { region: '440104', addr: ['广东省广州市越秀区', '中山五路33号'], post: '510030', area: '020' },
  { region: '440305', addr: ['广东省深圳市南山区', '科技园南路66号'], post: '518057', area: '0755' },
  { region: '330106', addr: ['浙江省杭州市西湖区', '文三路90号'], post: '310012', area: '0571' },
  { region: '510107', addr: ['四川省成都市武侯区', '人民南路四段12号'], post: '610041', area: '028' },
  { region: '420106', addr: ['湖北省武汉市武昌区', '中南路7号'], post: '430071', area: '027' },
];

/** Approximate shares (%) of the most common surnames (national statistics, 2020 order), then a tail of rarer ones. */
const surnameWeights: (readonly [string, number])[] = [
  ['王', 7.1],
  ['李', 7.0],
  ['张', 6.7],
  ['刘', 5.4],
  ['陈', 4.6],
  ['杨', 3.1],
  ['黄', 2.4],
  ['赵', 2.3],
  ['吴', 2.0],
  ['周', 1.9],
  ['徐', 1.5],
  ['孙', 1.5],
  ['马', 1.3],
  ['朱', 1.3],
  ['胡', 1.2],
  ['郭', 1.2],
  ['何', 1.1],
  ['林', 1.0],
  ['罗', 1.0],
  ['高', 1.0],
  ['郑', 0.9],
  ['梁', 0.8],
  ['谢', 0.8],
  ['宋', 0.7],
  ['唐', 0.7],
  ['许', 0.7],
  ['韩', 0.7],
  ['冯', 0.6],
  ['邓', 0.6],
  ['曹', 0.6],
  ['曾', 0.5],
  ['彭', 0.5],
  ['萧', 0.3],
  ['蔡', 0.5],
  ['潘', 0.4],
  ['田', 0.4],
  ['董', 0.4],
  ['袁', 0.4],
  ['于', 0.4],
  ['余', 0.4],
  ['叶', 0.4],
  ['蒋', 0.4],
  ['杜', 0.4],
  ['苏', 0.4],
  ['魏', 0.4],
  ['程', 0.4],
  ['吕', 0.3],
  ['丁', 0.3],
  ['沈', 0.3],
  ['钟', 0.3],
  ['卢', 0.3],
  ['陆', 0.3],
  ['龙', 0.2],
  ['顾', 0.2],
  ['单', 0.1],
  ['卫', 0.1],
];
/** Given-name characters as parents choose them: some mostly for boys, some mostly for girls, some for both. */
const givenFor = {
  M: [
    '伟',
    '强',
    '磊',
    '军',
    '洋',
    '勇',
    '杰',
    '涛',
    '明',
    '超',
    '平',
    '刚',
    '华',
    '建',
    '国',
    '海',
    '东',
    '鹏',
    '辉',
    '宇',
    '志',
    '浩',
    '俊',
    '昊',
    '博',
    '晨',
    '斌',
    '峰',
  ],
  F: [
    '芳',
    '娜',
    '敏',
    '静',
    '丽',
    '艳',
    '娟',
    '秀',
    '霞',
    '桂',
    '红',
    '玉',
    '雪',
    '婷',
    '欣',
    '涵',
    '诗',
    '怡',
    '思',
    '婉',
    '琳',
    '瑶',
    '丹',
    '凤',
    '英',
    '兰',
    '萍',
    '燕',
    '淑',
  ],
  both: ['晓', '小', '文', '佳', '子', '一', '嘉', '梓', '天', '春', '雨', '宁'],
} as const;
/** A one- or two-character given name: the first character may be shared, the last one follows the sex. */
function givenName(r: Random, sex: 'M' | 'F', twoChars: boolean): string {
  const last = r.pick(givenFor[sex]);
  if (!twoChars) return last;
  const first = r.chance(0.4) ? r.pick(givenFor.both) : r.pick(givenFor[sex]);
  return first === last ? last : `${first}${last}`;
}

/** Simplified → traditional for the characters above that differ (OpenCC maps each back: tested). */
export const traditionalOf: Record<string, string> = {
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
  谢: '謝',
  韩: '韓',
  冯: '馮',
  邓: '鄧',
  许: '許',
  罗: '羅',
  叶: '葉',
  苏: '蘇',
  吕: '呂',
  钟: '鍾',
  陆: '陸',
  龙: '龍',
  顾: '顧',
  蒋: '蔣',
  卢: '盧',
  萧: '蕭',
  单: '單',
  欧: '歐',
  阳: '陽',
  诸: '諸',
  东: '東',
  伟: '偉',
  丽: '麗',
  军: '軍',
  涛: '濤',
  晓: '曉',
  红: '紅',
  华: '華',
  国: '國',
  鹏: '鵬',
  辉: '輝',
  静: '靜',
  艳: '艷',
  强: '強',
  杰: '傑',
  刚: '剛',
  凤: '鳳',
  兰: '蘭',
  诗: '詩',
  瑶: '瑤',
  宁: '寧',
  卫: '衞', // the Hong Kong form (Taiwan writes 衛): both must key as 卫
};

/** More places than `cities` (which generate-people.ts shares): region code, district, streets, postcode, area code. */
const places = [
  ...cities.map((c) => ({
    region: c.region,
    district: c.addr[0] ?? '',
    streets: [c.addr[1]?.replace(/\d+号$/, '') ?? '', '人民路', '解放路'],
    post: c.post,
    area: c.area,
  })),
  {
    region: '320102',
    district: '江苏省南京市玄武区',
    streets: ['中山路', '北京东路', '珠江路'],
    post: '210018',
    area: '025',
  },
  {
    region: '610113',
    district: '陕西省西安市雁塔区',
    streets: ['长安南路', '小寨东路', '含光路'],
    post: '710061',
    area: '029',
  },
  {
    region: '500103',
    district: '重庆市渝中区',
    streets: ['解放碑步行街', '民生路', '中山三路'],
    post: '400010',
    area: '023',
  },
  { region: '120101', district: '天津市和平区', streets: ['南京路', '营口道', '滨江道'], post: '300041', area: '022' },
  {
    region: '320508',
    district: '江苏省苏州市姑苏区',
    streets: ['干将西路', '人民路', '十全街'],
    post: '215000',
    area: '0512',
  },
  {
    region: '370202',
    district: '山东省青岛市市南区',
    streets: ['香港中路', '东海西路', '山东路'],
    post: '266071',
    area: '0532',
  },
  {
    region: '430103',
    district: '湖南省长沙市天心区',
    streets: ['芙蓉中路', '劳动西路', '书院路'],
    post: '410004',
    area: '0731',
  },
  {
    region: '410105',
    district: '河南省郑州市金水区',
    streets: ['花园路', '农业路', '经三路'],
    post: '450003',
    area: '0371',
  },
];
type Place = (typeof places)[number];

const products = [
  { code: 'WL1', main: 'WL1M', rate: 0.028 }, // whole life
  { code: 'CI2', main: 'CI2M', rate: 0.022 }, // critical illness
  { code: 'END', main: 'ENDM', rate: 0.09 }, // endowment
  { code: 'TL1', main: 'TL1M', rate: 0.004 }, // term life
  { code: 'HOS', main: 'HOSM', rate: 0.012 }, // hospitalisation
] as const;
const riders = ['ADD1', 'HOS1', 'WOP1', 'CI1A'];
const occupations = ['A101', 'A102', 'B201', 'B202', 'C301', 'D401'];

function withCheck(first17: string): string {
  return `${first17}${residentIdCheckChar(first17)}`;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const money = (n: number) => n.toFixed(2);
const fullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

type Person = {
  clientNo: string;
  row: Row;
  kind: 'P' | 'C';
  adult: boolean;
  mobile: string | null;
  idNo: string | null;
};
type Policy = { row: Row; covers: Row[]; roles: Row[] };

function mobileFormats(m: string): string[] {
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

function mobileFormat(r: Random, m: string): string {
  const forms = mobileFormats(m);
  return r.weighted(forms.map((f, i) => [f, [55, 10, 5, 5, 5, 8, 7, 3, 2][i] ?? 1] as const));
}

/** Another written form of the same mobile than `current`. */
function otherMobileFormat(r: Random, m: string, current: string | null): string {
  const forms = mobileFormats(m).filter((f) => f !== current);
  return r.pick(forms);
}

function landline(r: Random, place: Place): string {
  const sub = `${r.int(2, 8)}${pad(r.int(0, 9999999), 7)}`;
  return r.weighted([
    [`${place.area}-${sub}`, 60],
    [`(${place.area})${sub}`, 15],
    [`${place.area} ${sub.slice(0, 4)} ${sub.slice(4)}`, 15],
    [`${place.area}-${sub}转${r.int(100, 899)}`, 10],
  ]);
}

function pinyinOf(s: string, surname = false): string {
  return namePinyin(s, { surname }) ?? s;
}

function toTraditional(s: string): string {
  return [...s].map((c) => traditionalOf[c] ?? c).join('');
}

export function generateCorePolicyDemo(
  opts: { seed?: number; clients?: number; policies?: number } = {},
): DemoMessage[] {
  const r = seeded(opts.seed ?? 20261122);
  const clientCount = opts.clients ?? 300;
  const policyCount = opts.policies ?? 400;
  const base = Date.parse('2026-10-01T09:00:00+08:00') * 1000;
  const at = (minutes: number) => base + minutes * 60_000_000;
  // Snapshot rows are stamped one minute apart from 2026-10-01 09:00; changes follow a week later (or after
  // the last snapshot row for large data sets), one minute apart, in stream order.
  let clock = Math.max(7 * 24 * 60, 2 * clientCount + policyCount + 60);
  const later = () => at((clock += 1));

  const people: Person[] = [];
  const duplicates: Person[] = [];
  const usedMobiles = new Set<string>([DEMO_CUSTOMER.mobile]);
  const freshMobile = (): string => {
    for (;;) {
      const m = `1${r.weighted([
        ['3', 35],
        ['5', 20],
        ['7', 8],
        ['8', 30],
        ['9', 7],
      ])}${pad(r.int(0, 999999999), 9)}`;
      if (!usedMobiles.has(m) && !/^1(\d)\1{9}$/.test(m)) {
        usedMobiles.add(m);
        return m;
      }
    }
  };
  const address = (place: Place): Row => ({
    ADDR1: place.district,
    ADDR2: `${r.pick(place.streets)}${r.int(1, 300)}号`,
    ADDR3: r.chance(0.7) ? `${r.int(1, 30)}栋${r.int(1, 30)}${pad(r.int(1, 8), 2)}室` : null,
    POSTCODE: place.post,
  });

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

  // ---- Snapshot (op r): one role first (it arrives before its policy and its client), then the tables.
  const allRoles = [...policies.values()].flatMap((p) => p.roles);
  const early = allRoles.find((x) => String(x.CHDRNUM) === `P${pad(1000001, 7)}`) ?? allRoles[allRoles.length - 1];
  const stream: DemoMessage[] = [];
  if (early) stream.push(coreEvent('role', 'r', early));
  for (const c of clients) stream.push(coreEvent('client', 'r', c.row));
  for (const p of policies.values()) {
    stream.push(coreEvent('policy', 'r', p.row));
    for (const c of p.covers) stream.push(coreEvent('cover', 'r', c));
  }
  for (const x of allRoles) if (x !== early) stream.push(coreEvent('role', 'r', x));

  // ---- Changes after the snapshot.
  const untouchable = new Set<string>([DEMO_CUSTOMER.clientNo]);
  const demoPolicies = new Set(['P9000001', 'P9000002', 'P9000003', 'P9000004']);
  const regularPolicies = [...policies.keys()].filter((k) => !demoPolicies.has(k));
  // The re-keyed person has a valid resident id, so identity resolution can tell it is the same person.
  const rekeyed = people.find(
    (p) =>
      p.kind === 'P' &&
      p.adult &&
      p.clientNo !== DEMO_CUSTOMER.clientNo &&
      p.row.IDTYPE === '01' &&
      p.idNo?.length === 18 &&
      p.idNo === withCheck(p.idNo.slice(0, 17)) &&
      allRoles.some((x) => x.CLNTNUM === p.clientNo && x.VALIDFLAG === '1'),
  );
  if (rekeyed) untouchable.add(rekeyed.clientNo);

  // Client updates: a new mobile, a move, an email added.
  const updatable = clients.filter((p) => p.kind === 'P' && p.adult && !untouchable.has(p.clientNo));
  for (let k = 0; k < Math.min(20, updatable.length); k += 1) {
    const p = r.pick(updatable);
    const what = r.pick(['mobile', 'address', 'email'] as const);
    const changes: Row =
      what === 'mobile'
        ? { MOBILE: mobileFormat(r, freshMobile()) }
        : what === 'address'
          ? address(r.pick(places))
          : { EMAIL: email(r, String(p.row.SURNAME ?? ''), String(p.row.GIVNAME ?? ''), 1990) };
    const row = { ...p.row, ...changes, DTEUPD: later() };
    stream.push(coreEvent('client', 'u', row, { before: p.row }));
    p.row = row;
  }

  // Lapses (IF → LA) and a reinstatement (LA → RI), header and covers.
  const setStatus = (policyNo: string, status: string, extra: Row = {}) => {
    const p = policies.get(policyNo);
    if (!p) return;
    const row = { ...p.row, STATCODE: status, ...extra, DTEUPD: later() };
    stream.push(coreEvent('policy', 'u', row, { before: p.row }));
    p.row = row;
    p.covers = p.covers.map((c) => {
      const next = { ...c, STATCODE: status, DTEUPD: row.DTEUPD as number };
      stream.push(coreEvent('cover', 'u', next, { before: c }));
      return next;
    });
  };
  const inForce = regularPolicies.filter((k) => policies.get(k)?.row.STATCODE === 'IF');
  const lapsing = r.shuffle(inForce).slice(0, 5);
  for (const k of lapsing) setStatus(k, 'LA', { PTDATE: 20260901 });
  if (lapsing[0]) setStatus(lapsing[0], 'RI', { PTDATE: 20270901 });

  // Beneficiary changes: the old role becomes history (VALIDFLAG 2), the new one takes its order and share.
  const withBeneficiary = regularPolicies.filter((k) =>
    policies
      .get(k)
      ?.roles.some((x) => x.CLRRROLE === 'BN' && x.VALIDFLAG === '1' && !untouchable.has(String(x.CLNTNUM))),
  );
  for (const k of r.shuffle(withBeneficiary).slice(0, 3)) {
    const p = policies.get(k) as Policy;
    const old = p.roles.find(
      (x) => x.CLRRROLE === 'BN' && x.VALIDFLAG === '1' && !untouchable.has(String(x.CLNTNUM)),
    ) as Row;
    const insured = p.roles.find((x) => x.CLRRROLE === 'LF');
    const replacement = r
      .shuffle(adults)
      .find(
        (a) =>
          a.clientNo !== insured?.CLNTNUM &&
          !untouchable.has(a.clientNo) &&
          !p.roles.some((x) => x.CLNTNUM === a.clientNo && x.CLRRROLE === 'BN'),
      );
    if (!replacement) continue;
    const history = { ...old, VALIDFLAG: '2', DTEUPD: later() };
    stream.push(coreEvent('role', 'u', history, { before: old }));
    const added = roleRow(k, replacement, 'BN', 0, {
      BNYSEQ: old.BNYSEQ ?? 1,
      BNYPC: old.BNYPC ?? '100.00',
      DTEUPD: later(),
    });
    stream.push(coreEvent('role', 'c', added));
    p.roles = [...p.roles.filter((x) => x !== old), history, added];
  }

  // A re-keyed client: the old number is deleted (delete + tombstone), the same person created under a new
  // number, and the roles moved to it.
  if (rekeyed) {
    const newNo = 'C3000001';
    stream.push(...deleteWithTombstone('client', { ...rekeyed.row, DTEUPD: later() }, Math.floor(at(clock) / 1000)));
    const created = { ...rekeyed.row, CLNTNUM: newNo, DTEUPD: later() };
    stream.push(coreEvent('client', 'c', created));
    for (const p of policies.values()) {
      p.roles = p.roles.map((x) => {
        if (x.CLNTNUM !== rekeyed.clientNo) return x;
        stream.push(...deleteWithTombstone('role', { ...x, DTEUPD: later() }, Math.floor(at(clock) / 1000)));
        const moved = { ...x, CLNTNUM: newNo, DTEUPD: later() };
        stream.push(coreEvent('role', 'c', moved));
        return moved;
      });
    }
    rekeyed.row = created;
    rekeyed.clientNo = newNo;
  }

  // A policy registered in error: its roles, covers and header deleted, each delete followed by a tombstone.
  const deletable = [...regularPolicies]
    .reverse()
    .find((k) => !(policies.get(k)?.roles ?? []).some((x) => untouchable.has(String(x.CLNTNUM))));
  if (deletable) {
    const p = policies.get(deletable) as Policy;
    for (const x of p.roles)
      stream.push(...deleteWithTombstone('role', { ...x, DTEUPD: later() }, Math.floor(at(clock) / 1000)));
    for (const c of p.covers)
      stream.push(...deleteWithTombstone('cover', { ...c, DTEUPD: later() }, Math.floor(at(clock) / 1000)));
    stream.push(...deleteWithTombstone('policy', { ...p.row, DTEUPD: later() }, Math.floor(at(clock) / 1000)));
    policies.delete(deletable);
  }

  // New business after the snapshot: a new client and a policy; its roles arrive first, then the policy and
  // its cover, and the client last (the batch job that copies client records runs after the policy one).
  const newClientNo = 'C3000002';
  const newPlace = r.pick(places);
  const newMobile = freshMobile();
  const newClient: Row = {
    CLNTNUM: newClientNo,
    CLTTYPE: 'P',
    SURNAME: '刘',
    GIVNAME: '洋',
    LGIVNAME: null,
    CLTSEX: 'M',
    CLTDOB: 19920615,
    IDTYPE: '01',
    IDNO: withCheck(`${newPlace.region}19920615${pad(r.int(0, 99) * 10 + 3, 3)}`),
    MOBILE: mobileFormat(r, newMobile),
    PHONE: null,
    EMAIL: null,
    ...address(newPlace),
    OCCPCODE: r.pick(occupations),
    DTEUPD: later(),
  };
  const newPolicyNo = `P${pad(1000000 + policyCount + 1, 7)}`;
  const newPerson: Person = {
    clientNo: newClientNo,
    row: newClient,
    kind: 'P',
    adult: true,
    mobile: newMobile,
    idNo: String(newClient.IDNO),
  };
  addPolicy(newPolicyNo, {
    owner: newPerson,
    insured: newPerson,
    beneficiaries: pickBeneficiaries(1, newPerson),
    status: 'IF',
    product: products[1],
    minute: clock + 1,
  });
  const fresh = policies.get(newPolicyNo) as Policy;
  const stamp = later();
  const stamped = (row: Row): Row => ({ ...row, DTEUPD: stamp });
  for (const x of fresh.roles) stream.push(coreEvent('role', 'c', stamped(x)));
  stream.push(coreEvent('policy', 'c', stamped(fresh.row)));
  for (const c of fresh.covers) stream.push(coreEvent('cover', 'c', stamped(c)));
  stream.push(coreEvent('client', 'c', newClient));

  return stream;
}

function email(r: Random, surname: string, given: string, year: number): string {
  const local = r.weighted([
    [`${pinyinOf(surname, true)}${pinyinOf(given)}`, 4],
    [`${pinyinOf(given)}.${pinyinOf(surname, true)}`, 2],
    [`${pinyinOf(surname, true)}${pinyinOf(given)}${String(year).slice(2)}`, 3],
    [String(r.int(10000000, 999999999)), 3],
  ]);
  const domain = r.pick(['example.com', 'example.cn', 'example.net', 'mail.example.com']);
  return r.chance(0.05) ? ` ${local.toUpperCase()}@${domain.toUpperCase()}` : `${local}@${domain}`;
}
