import { coreEvent, deleteWithTombstone, type CoreEvent, type Row } from '../connectors/core-policy/fixtures/events.ts';
import { residentIdCheckChar } from '../sync/normalize/resident-id.ts';
import { usccCheckChar } from '../sync/normalize/uscc.ts';
import { seeded, type Random } from './random.ts';

/**
 * Synthetic core-policy traffic for the demo and for load tests: Chinese names drawn by surname frequency
 * (with compound surnames, pinyin-only and traditional-character variants), mostly valid resident ids
 * consistent with birth date and sex and some invalid or legacy 15-digit ones, passports, companies with
 * credit codes, phones in the mixed formats sources really send, and realistic duplicates: about one person in
 * ten also exists under a second client number (name variant, other phone format). Snapshot first, then
 * updates, a re-keyed client (delete + tombstone, create under a new number), a deleted policy, and a role
 * that arrives before its policy.
 */
export type DemoMessage = CoreEvent;

export const DEMO_CUSTOMER = { name: '王小明', mobile: '13800138000', clientNo: 'C9000001', idNumber: withCheck('11010519850307123') } as const;

export const surnames = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹'];
export const compound = ['欧阳', '司马', '上官', '诸葛', '东方'];
export const givenChars = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀', '霞', '平', '刚', '桂', '华', '建', '国', '文', '晓', '红', '玉', '海', '东', '雪', '婷', '鹏', '辉', '宇'];
const traditional: Record<string, string> = { 张: '張', 陈: '陳', 刘: '劉', 杨: '楊', 黄: '黃', 赵: '趙', 吴: '吳', 孙: '孫', 马: '馬', 郑: '鄭', 谢: '謝', 韩: '韓', 冯: '馮', 邓: '鄧', 伟: '偉', 丽: '麗', 军: '軍', 涛: '濤', 晓: '曉', 红: '紅', 华: '華', 国: '國', 东: '東', 鹏: '鵬', 辉: '輝', 欧: '歐', 马上: '馬上' };
const pinyin: Record<string, string> = { 王: 'WANG', 李: 'LI', 张: 'ZHANG', 刘: 'LIU', 陈: 'CHEN', 杨: 'YANG', 黄: 'HUANG', 赵: 'ZHAO', 吴: 'WU', 周: 'ZHOU' };
export const cities = [
  { region: '110105', addr: ['北京市朝阳区', '建国路88号'], post: '100022', area: '010' },
  { region: '310104', addr: ['上海市徐汇区', '漕溪北路18号'], post: '200030', area: '021' },
  { region: '440104', addr: ['广东省广州市越秀区', '中山五路33号'], post: '510030', area: '020' },
  { region: '440305', addr: ['广东省深圳市南山区', '科技园南路66号'], post: '518057', area: '0755' },
  { region: '330106', addr: ['浙江省杭州市西湖区', '文三路90号'], post: '310012', area: '0571' },
  { region: '510107', addr: ['四川省成都市武侯区', '人民南路四段12号'], post: '610041', area: '028' },
  { region: '420106', addr: ['湖北省武汉市武昌区', '中南路7号'], post: '430071', area: '027' },
];
const products = ['WL1', 'CI2', 'END', 'TL1', 'HOS'];
const riders = ['ADD1', 'HOS1', 'WOP1', 'CI1A'];

function withCheck(first17: string): string {
  return `${first17}${residentIdCheckChar(first17)}`;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

type Person = { clientNo: string; row: Row; mobile: string; idNo: string };

function phoneFormat(r: Random, mobile: string): string {
  const forms = [mobile, `+86 ${mobile.slice(0, 3)} ${mobile.slice(3, 7)} ${mobile.slice(7)}`, `0086${mobile}`, `86 ${mobile}`, `${mobile.slice(0, 3)}-${mobile.slice(3, 7)}-${mobile.slice(7)}`];
  return r.chance(0.6) ? mobile : r.pick(forms);
}

function toTraditional(s: string): string {
  return [...s].map((c) => traditional[c] ?? c).join('');
}

export function generateCorePolicyDemo(opts: { seed?: number; clients?: number; policies?: number }): DemoMessage[] {
  const r = seeded(opts.seed ?? 20261122);
  const clientCount = opts.clients ?? 300;
  const policyCount = opts.policies ?? 400;
  const base = Date.parse('2026-10-01T09:00:00+08:00') * 1000;
  const at = (minutes: number) => base + minutes * 60_000_000;
  const snapshot: DemoMessage[] = [];
  const changes: DemoMessage[] = [];
  const people: Person[] = [];

  // The documented demo customer.
  const demoRow: Row = {
    CLNTNUM: DEMO_CUSTOMER.clientNo, CLTTYPE: 'P', SURNAME: '王', GIVNAME: '小明', LGIVNAME: null, CLTSEX: 'M', CLTDOB: 19850307, IDTYPE: '01', IDNO: DEMO_CUSTOMER.idNumber,
    MOBILE: DEMO_CUSTOMER.mobile, PHONE: '010-65001234', EMAIL: 'wang.xiaoming@example.cn', ADDR1: '北京市朝阳区', ADDR2: '建国路88号', ADDR3: 'SOHO现代城A座1201', POSTCODE: '100022', OCCPCODE: 'A102', DTEUPD: at(0),
  };
  snapshot.push(coreEvent('client', 'r', demoRow));
  people.push({ clientNo: DEMO_CUSTOMER.clientNo, row: demoRow, mobile: DEMO_CUSTOMER.mobile, idNo: DEMO_CUSTOMER.idNumber });

  for (let i = 1; i <= clientCount; i += 1) {
    const clientNo = `C${pad(1000000 + i, 7)}`;
    const city = r.pick(cities);
    if (r.chance(0.04)) {
      // A company client with a unified social credit code (CLTTYPE C, IDTYPE 08).
      const first17 = `91${city.region}${pad(r.int(0, 999999999), 9)}`.slice(0, 17).replace(/[IOSVZ]/g, '0');
      const code = `${first17}${usccCheckChar(first17) ?? '0'}`;
      const row: Row = { CLNTNUM: clientNo, CLTTYPE: 'C', SURNAME: null, GIVNAME: null, LGIVNAME: `${r.pick(['华信', '远航', '鼎盛', '恒通', '海川'])}${r.pick(['科技', '贸易', '物流', '建设'])}有限公司`, CLTSEX: null, CLTDOB: 0, IDTYPE: '08', IDNO: code, MOBILE: null, PHONE: `${city.area}-${r.int(2000000, 8999999)}${city.area.length === 3 ? r.int(0, 9) : ''}`, EMAIL: null, ADDR1: city.addr[0] ?? null, ADDR2: city.addr[1] ?? null, ADDR3: null, POSTCODE: city.post, OCCPCODE: null, DTEUPD: at(i) };
      snapshot.push(coreEvent('client', 'r', row));
      continue;
    }
    const sex = r.chance(0.5) ? 'M' : 'F';
    const year = r.int(1950, 2005);
    const dob = `${year}${pad(r.int(1, 12), 2)}${pad(r.int(1, 28), 2)}`;
    const seq = r.int(0, 99) * 10 + (sex === 'M' ? r.pick([1, 3, 5, 7, 9]) : r.pick([0, 2, 4, 6, 8]));
    let idNo = withCheck(`${city.region}${dob}${pad(seq, 3)}`);
    let idType = '01';
    const roll = r.next();
    if (roll < 0.03) idNo = `${idNo.slice(0, 17)}${idNo[17] === '0' ? '1' : '0'}`; // bad checksum
    else if (roll < 0.05) idNo = idNo.slice(0, 17); // 17 digits
    else if (roll < 0.07 && year < 2000) idNo = `${city.region}${dob.slice(2)}${pad(seq, 3)}`; // legacy 15-digit
    else if (roll < 0.09) {
      idType = '03';
      idNo = `E${pad(r.int(10000000, 99999999), 8)}`;
    }
    const surname = r.chance(0.03) ? r.pick(compound) : r.pick(surnames);
    const given = r.chance(0.4) ? r.pick(givenChars) : `${r.pick(givenChars)}${r.pick(givenChars)}`;
    const pinyinOnly = r.chance(0.03) && pinyin[surname] !== undefined;
    const mobile = `1${r.pick(['3', '5', '7', '8', '9'])}${pad(r.int(0, 999999999), 9)}`;
    const row: Row = {
      CLNTNUM: clientNo, CLTTYPE: 'P', SURNAME: pinyinOnly ? (pinyin[surname] ?? surname) : surname, GIVNAME: pinyinOnly ? 'XIAO' : given, LGIVNAME: null,
      CLTSEX: r.chance(0.02) ? 'U' : sex, CLTDOB: r.chance(0.03) ? r.pick([0, 99999999]) : Number(dob), IDTYPE: idType, IDNO: idNo,
      MOBILE: r.chance(0.9) ? phoneFormat(r, mobile) : null, PHONE: r.chance(0.2) ? `${city.area}-${r.int(2000000, 8999999)}${city.area.length === 3 ? r.int(0, 9) : ''}` : null,
      EMAIL: r.chance(0.3) ? `user${i}@example.cn` : null, ADDR1: city.addr[0] ?? null, ADDR2: city.addr[1] ?? null, ADDR3: null, POSTCODE: city.post,
      OCCPCODE: r.pick(['A101', 'A102', 'B201', 'C301', null]), DTEUPD: at(i),
    };
    snapshot.push(coreEvent('client', 'r', row));
    people.push({ clientNo, row, mobile, idNo });

    // A duplicate of the same person under a second client number: name variant, other phone format.
    if (idType === '01' && idNo.length === 18 && r.chance(0.1)) {
      const dupNo = `D${pad(1000000 + i, 7)}`;
      const dup: Row = { ...row, CLNTNUM: dupNo, SURNAME: toTraditional(String(row.SURNAME)), GIVNAME: toTraditional(String(row.GIVNAME)), MOBILE: phoneFormat(r, mobile), EMAIL: null, DTEUPD: at(clientCount + i) };
      snapshot.push(coreEvent('client', 'r', dup));
      people.push({ clientNo: dupNo, row: dup, mobile, idNo });
    }
  }

  // Policies: owner, insured (self or another client), sometimes beneficiaries and a payer; main cover + riders.
  const roleEvents: DemoMessage[] = [];
  const policyEvents: DemoMessage[] = [];
  const addPolicy = (policyNo: string, owner: Person, insured: Person, beneficiaries: Person[], minute: number, status = 'IF') => {
    const product = r.pick(products);
    const sum = r.int(5, 100) * 10000;
    const premium = (sum * r.int(10, 40)) / 1000;
    policyEvents.push(coreEvent('policy', 'r', { CHDRNUM: policyNo, CNTTYPE: product, STATCODE: status, OCCDATE: Number(`20${pad(r.int(10, 25), 2)}${pad(r.int(1, 12), 2)}${pad(r.int(1, 28), 2)}`), PTDATE: 20270101, SINSTAMT: `${sum}.00`, INSTPREM: `${premium.toFixed(2)}`, BILLFREQ: r.pick(['01', '12']), SRCEBUS: r.pick(['AG', 'BA', 'TM', 'WB']), AGNTNUM: `AG${pad(r.int(1, 500), 4)}`, DTEUPD: at(minute) }));
    policyEvents.push(coreEvent('cover', 'r', { CHDRNUM: policyNo, COVERAGE: '01', RIDER: '00', CRTABLE: `${product}M`, SUMINS: `${sum}.00`, INSTPREM: `${(premium * 0.85).toFixed(2)}`, STATCODE: status, DTEUPD: at(minute) }));
    for (let k = 1; k <= r.int(0, 2); k += 1) {
      policyEvents.push(coreEvent('cover', 'r', { CHDRNUM: policyNo, COVERAGE: '01', RIDER: pad(k, 2), CRTABLE: r.pick(riders), SUMINS: `${Math.round(sum / 5)}.00`, INSTPREM: `${(premium * 0.075).toFixed(2)}`, STATCODE: status, DTEUPD: at(minute) }));
    }
    const role = (client: Person, code: string, extra: Row = {}) => roleEvents.push(coreEvent('role', 'r', { CHDRNUM: policyNo, CLNTNUM: client.clientNo, CLRRROLE: code, BNYSEQ: null, BNYPC: null, VALIDFLAG: '1', DTEUPD: at(minute), ...extra }));
    role(owner, 'OW');
    role(insured, 'LF');
    if (r.chance(0.3)) role(owner, 'PY');
    const shares = beneficiaries.length === 2 ? ['60.00', '40.00'] : ['100.00'];
    beneficiaries.forEach((b, idx) => role(b, 'BN', { BNYSEQ: idx + 1, BNYPC: shares[idx] ?? '100.00' }));
  };

  const demo = people[0] as Person;
  addPolicy('P9000001', demo, demo, [r.pick(people.slice(1))], 1);
  addPolicy('P9000002', demo, r.pick(people.slice(1)), [], 2);
  addPolicy('P9000003', demo, demo, [], 3, 'LA');
  addPolicy('P9000004', r.pick(people.slice(1)), r.pick(people.slice(1)), [demo], 4);
  for (let i = 1; i <= policyCount; i += 1) {
    const owner = r.pick(people);
    const insured = r.chance(0.6) ? owner : r.pick(people);
    const beneficiaries = r.chance(0.4) ? (r.chance(0.3) ? [r.pick(people), r.pick(people)] : [r.pick(people)]) : [];
    addPolicy(`P${pad(1000000 + i, 7)}`, owner, insured, beneficiaries.filter((b, k, all) => all.findIndex((x) => x.clientNo === b.clientNo) === k), 10 + i);
  }

  // Stream order: one role arrives before its policy (legacy batch jobs write roles first), then the snapshot.
  const early = roleEvents.shift();
  const stream: DemoMessage[] = [...(early ? [early] : []), ...snapshot, ...policyEvents, ...roleEvents];

  // Changes after the snapshot: address/phone updates, a lapse, a re-keyed client, a deleted policy.
  const later = (n: number) => at(100_000 + n);
  for (let k = 0; k < 20; k += 1) {
    const p = r.pick(people.slice(1));
    const row = { ...p.row, MOBILE: `1${r.pick(['3', '8'])}${pad(r.int(0, 999999999), 9)}`, DTEUPD: later(k) };
    changes.push(coreEvent('client', 'u', row, { before: p.row }));
    p.row = row;
  }
  const rekeyed = people.find((p) => p.clientNo.startsWith('C') && p.clientNo !== DEMO_CUSTOMER.clientNo && p.row.CLTTYPE === 'P');
  if (rekeyed) {
    changes.push(...deleteWithTombstone('client', { ...rekeyed.row, DTEUPD: later(30) }, Math.floor(later(31) / 1000)));
    changes.push(coreEvent('client', 'c', { ...rekeyed.row, CLNTNUM: `R${rekeyed.clientNo.slice(1)}`, DTEUPD: later(32) }));
  }
  changes.push(...deleteWithTombstone('policy', { CHDRNUM: `P${pad(1000000 + policyCount, 7)}`, DTEUPD: later(40) }, Math.floor(later(41) / 1000)));
  return [...stream, ...changes];
}
