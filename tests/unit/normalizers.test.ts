import { describe, expect, it } from 'vitest';
import * as normalizers from '../../src/domain/normalize/index.ts';
import {
  fromDebeziumDays,
  fromMicros,
  fromYyyymmddInt,
  maskValue,
  nameKey,
  namePinyin,
  normalizeCompanyName,
  normalizeEmail,
  normalizeIdDocument,
  normalizePersonName,
  normalizePhone,
  normalizeResidentId,
  normalizeUscc,
  parseLooseDate,
  phoneSearchKey,
  residentIdCheckChar,
  usccCheckChar,
} from '../../src/domain/normalize/index.ts';

const valid = (first17: string) => `${first17}${residentIdCheckChar(first17)}`;

describe('resident id (GB 11643-1999)', () => {
  it('accepts the domain guide example with an X check character and extracts birth date and sex', () => {
    expect(residentIdCheckChar('34052419800101001')).toBe('X');
    expect(normalizeResidentId('34052419800101001X')).toMatchObject({
      value: '34052419800101001X',
      valid: true,
      issues: [],
      birthDate: '1980-01-01',
      sex: 'M',
    });
  });
  it('normalises lower-case x, full-width digits and spaces', () => {
    expect(normalizeResidentId(' 340524 19800101 001x ').value).toBe('34052419800101001X');
    expect(normalizeResidentId('３４０５２４１９８００１０１００１Ｘ')).toMatchObject({
      value: '34052419800101001X',
      valid: true,
    });
  });
  it('flags a bad checksum, keeps the value', () => {
    expect(normalizeResidentId('340524198001010010')).toMatchObject({
      value: '340524198001010010',
      valid: false,
      issues: ['BAD_CHECKSUM'],
    });
  });
  it('flags 17 digits as BAD_LENGTH and letters as BAD_CHARACTERS', () => {
    expect(normalizeResidentId('34052419800101001')).toMatchObject({ valid: false, issues: ['BAD_LENGTH'] });
    expect(normalizeResidentId('3405241980O101001X')).toMatchObject({ valid: false, issues: ['BAD_CHARACTERS'] });
  });
  it('converts a legacy 15-digit number to 18 digits (domain guide example)', () => {
    expect(normalizeResidentId('370802940221002')).toMatchObject({
      value: '370802199402210029',
      valid: true,
      issues: ['CONVERTED_FROM_15'],
      birthDate: '1994-02-21',
      sex: 'F',
    });
  });
  it('rejects impossible and future birth dates', () => {
    expect(normalizeResidentId(valid('11010519800230001')).issues).toContain('BAD_BIRTH_DATE');
    expect(normalizeResidentId(valid('11010521990101001')).issues).toContain('BAD_BIRTH_DATE');
  });
  it('cross-checks birth date and sex against the record without invalidating the number', () => {
    const r = normalizeResidentId('34052419800101001X', { birthDate: '1980-01-02', sex: 'F' });
    expect(r.valid).toBe(true);
    expect(r.issues).toEqual(['BIRTH_DATE_MISMATCH', 'SEX_MISMATCH']);
  });
  it('treats empty and placeholder values as missing', () => {
    expect(normalizeResidentId('   ')).toMatchObject({ value: null, valid: false, issues: ['EMPTY'] });
    expect(normalizeResidentId('无')).toMatchObject({ value: null, valid: false, issues: ['PLACEHOLDER'] });
  });
});

describe('other identity documents', () => {
  it('dispatches on the contract id type codes', () => {
    expect(normalizeIdDocument('01', '34052419800101001X')).toMatchObject({ type: 'RESIDENT_ID', valid: true });
    expect(normalizeIdDocument('02', '34052419800101001X')).toMatchObject({ type: 'HOUSEHOLD_REGISTER', valid: true });
    expect(normalizeIdDocument('03', ' e1234 5678 ')).toMatchObject({
      type: 'PASSPORT',
      value: 'E12345678',
      valid: true,
    });
    expect(normalizeIdDocument('06', 'C12345678')).toMatchObject({ type: 'HK_MACAO_PERMIT', valid: true });
    expect(normalizeIdDocument('42', 'X1')).toMatchObject({ type: 'OTHER', valid: false, issues: ['UNKNOWN_TYPE'] });
  });
  it('checks unified social credit codes, warning (not rejecting) on a bad check character', () => {
    const first17 = '91350100M000100Y4';
    const code = `${first17}${usccCheckChar(first17)}`;
    expect(normalizeUscc(code)).toMatchObject({ value: code, valid: true, issues: [] });
    const wrong = `${first17}${usccCheckChar(first17) === '0' ? '1' : '0'}`;
    expect(normalizeUscc(wrong)).toMatchObject({ valid: true, issues: ['BAD_CHECKSUM_WARNING'] });
    expect(normalizeUscc('9135010')).toMatchObject({ valid: false, issues: ['BAD_LENGTH'] });
    expect(normalizeIdDocument('08', code.toLowerCase())).toMatchObject({ type: 'USCC', value: code, valid: true });
  });
});

describe('phones', () => {
  const mobiles = [
    '13800138000',
    '+86 138 0013 8000',
    '008613800138000',
    '86 13800138000',
    '013800138000',
    '138-0013-8000',
    '+86-138-0013-8000',
    '１３８００１３８０００',
    '(+86) 13800138000',
  ];
  it.each(mobiles)('reads %s as the mobile 13800138000', (raw) => {
    expect(normalizePhone(raw)).toMatchObject({
      kind: 'MOBILE',
      searchKey: '13800138000',
      value: '+86 138 0013 8000',
      valid: true,
    });
    expect(phoneSearchKey(raw)).toBe('13800138000');
  });
  it.each([
    ['021-62345678', '02162345678', '021-62345678'],
    ['(021)62345678', '02162345678', '021-62345678'],
    ['0755 2345 6789', '075523456789', '0755-23456789'],
    ['021-62345678转123', '02162345678', '021-62345678'],
    ['010 6500 1234', '01065001234', '010-65001234'],
  ])('reads the landline %s', (raw, key, value) => {
    expect(normalizePhone(raw)).toMatchObject({ kind: 'LANDLINE', searchKey: key, value, valid: true });
  });
  it.each([
    ['N/A', 'PLACEHOLDER'],
    ['无', 'PLACEHOLDER'],
    ['11111111111', 'PLACEHOLDER'],
    ['1380013800', 'BAD_LENGTH'],
    ['+1 415 555 0100', 'NOT_MAINLAND'],
    ['call me', 'BAD_CHARACTERS'],
  ])('flags %s as %s', (raw, issue) => {
    const r = normalizePhone(raw);
    expect(r.valid).toBe(false);
    expect(r.issues).toContain(issue);
    expect(phoneSearchKey(raw)).toBeNull();
  });
});

describe('names', () => {
  it('keys traditional and simplified variants alike', () => {
    expect(nameKey('張偉')).toBe('张伟');
    expect(nameKey('歐陽 娜娜')).toBe(nameKey('欧阳娜娜'));
    expect(nameKey('　陳曉明　')).toBe('陈晓明');
    expect(nameKey('WANG Xiao-Ming')).toBe('wangxiaoming');
    expect(nameKey('   ')).toBeNull();
  });
  it('splits compound surnames and detects scripts', () => {
    expect(normalizePersonName({ full: '歐陽娜娜' })).toMatchObject({
      family: '歐陽',
      given: '娜娜',
      key: '欧阳娜娜',
      script: 'HAN',
    });
    expect(normalizePersonName({ full: '王小明' })).toMatchObject({ family: '王', given: '小明' });
    expect(normalizePersonName({ family: 'WANG', given: 'XIAOMING' })).toMatchObject({
      full: 'WANG XIAOMING',
      key: 'wangxiaoming',
      script: 'LATIN',
      issues: ['PINYIN_OR_LATIN_ONLY'],
    });
    expect(normalizePersonName({})).toMatchObject({ full: null, issues: ['EMPTY'] });
  });
  it('gives pinyin keys for homophones and pinyin-only spellings', () => {
    expect(namePinyin('王小明', { surname: true })).toBe('wangxiaoming');
    expect(namePinyin('秀英')).toBe(namePinyin('秀瑛'));
    // Surname readings: 曾 is zeng as a surname (ceng otherwise).
    expect(namePinyin('曾小明', { surname: true })).toBe('zengxiaoming');
    expect(namePinyin('wangxiaoming')).toBe('wangxiaoming');
  });
  it('keys company names without legal form and region brackets', () => {
    expect(normalizeCompanyName('华信科技(中国)有限公司').key).toBe(normalizeCompanyName('华信科技有限公司').key);
    expect(normalizeCompanyName('華信科技股份有限公司').key).toBe('华信科技');
  });
});

describe('emails, dates, masking', () => {
  it('normalises emails', () => {
    expect(normalizeEmail(' Wang.XM@Example.CN ')).toEqual({ value: 'wang.xm@example.cn', valid: true, issues: [] });
    expect(normalizeEmail('wang@')).toMatchObject({ valid: false, issues: ['BAD_FORMAT'] });
    expect(normalizeEmail('N/A')).toMatchObject({ value: null, issues: ['PLACEHOLDER'] });
  });
  it('reads YYYYMMDD integers with unknown markers', () => {
    expect(fromYyyymmddInt(19850307)).toBe('1985-03-07');
    expect(fromYyyymmddInt(0)).toBeNull();
    expect(fromYyyymmddInt(99999999)).toBeNull();
    expect(fromYyyymmddInt(20240230)).toBeNull();
  });
  it.each([['1985/03/07'], ['1985-3-7'], ['19850307'], ['1985年3月7日'], ['1985.03.07']])('reads %s', (raw) => {
    expect(parseLooseDate(raw)).toBe('1985-03-07');
  });
  it('returns null for empty and impossible dates', () => {
    expect(parseLooseDate('')).toBeNull();
    expect(parseLooseDate('1985-02-30')).toBeNull();
    expect(parseLooseDate('soon')).toBeNull();
  });
  it('reads Debezium date encodings', () => {
    expect(fromDebeziumDays(19723)).toBe('2024-01-01');
    expect(fromMicros('1704067200000000')?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });
  it('masks as the domain guide shows', () => {
    expect(maskValue('ID_NUMBER', '34052419800101001X')).toBe('3405**********001X');
    expect(maskValue('PHONE', '+86 138 0013 5678')).toBe('138****5678');
    expect(maskValue('NAME', '张三')).toBe('张*');
    expect(maskValue('NAME', '欧阳娜娜')).toBe('欧***');
    expect(maskValue('EMAIL', 'wang.xm@example.cn')).toBe('w***@example.cn');
    expect(maskValue('BANK_ACCOUNT', '6222021234567890123')).toBe('6222***********0123');
    expect(maskValue('ID_NUMBER', null)).toBeNull();
  });
});

describe('addresses and cities', () => {
  it('reads province, city and district and keys the address', () => {
    const { normalizeAddress, cityKey } = normalizers;
    expect(normalizeAddress('廣東省 廣州市越秀區 中山五路33號')).toMatchObject({
      province: '广东',
      city: '广州',
      district: '越秀区',
      key: '广东省广州市越秀区中山五路33号',
    });
    expect(normalizeAddress('上海市徐汇区漕溪北路88号')).toMatchObject({
      province: '上海',
      city: '上海',
      district: '徐汇区',
    });
    expect(normalizeAddress('  ')).toMatchObject({ value: null, key: null });
    expect(cityKey('上海市')).toBe(cityKey('上海'));
    expect(cityKey('廣州')).toBe('广州');
  });
});
