import { describe, expect, it } from 'vitest';
import { normalizePhone, phoneSearchKey } from '../../../src/domain/normalize/index.ts';

describe('mobile numbers', () => {
  const forms = [
    '13800138000',
    '+86 138 0013 8000',
    '008613800138000',
    '0086 138 0013 8000',
    '+86-138-0013-8000',
    '86 13800138000',
    '8613800138000',
    '+8613800138000',
    '(+86) 13800138000',
    '(86)13800138000',
    '013800138000', // trunk 0
    '138 0013 8000',
    '138-0013-8000',
    '１３８００１３８０００', // full-width digits
    '＋８６　１３８　００１３　８０００',
    '  13800138000      ', // CHAR padding
  ];
  it.each(forms)('reads %j as the mobile 13800138000', (raw) => {
    expect(normalizePhone(raw)).toMatchObject({
      kind: 'MOBILE',
      value: '+86 138 0013 8000',
      searchKey: '13800138000',
      valid: true,
      issues: [],
    });
    expect(phoneSearchKey(raw)).toBe('13800138000');
  });

  it('keeps the raw (cleaned) input', () => {
    expect(normalizePhone('+86-138-0013-8000').raw).toBe('+86-138-0013-8000');
    expect(normalizePhone('１３８００１３８０００').raw).toBe('13800138000');
  });

  it('checks structure, not operator prefixes (16x, 19x and virtual-operator ranges are valid)', () => {
    for (const m of ['16612345678', '19912345678', '17012345678', '14512345678', '13912345678']) {
      expect(normalizePhone(m)).toMatchObject({ kind: 'MOBILE', searchKey: m, valid: true });
    }
  });

  it('drops an extension after a mobile', () => {
    expect(normalizePhone('13800138000 转 8')).toMatchObject({ searchKey: '13800138000', valid: true, extension: '8' });
  });
});

describe('landlines', () => {
  it.each([
    ['021-62345678', '021-62345678', '02162345678'],
    ['(021)62345678', '021-62345678', '02162345678'],
    ['（021）62345678', '021-62345678', '02162345678'],
    ['021 6234 5678', '021-62345678', '02162345678'],
    ['02162345678', '021-62345678', '02162345678'],
    ['010-65001234', '010-65001234', '01065001234'],
    ['0755 1234 5678', '0755-12345678', '075512345678'],
    ['0755-2345678', '0755-2345678', '07552345678'], // 7-digit subscriber number
    ['+86 21 6234 5678', '021-62345678', '02162345678'], // international form drops the trunk 0
    ['0086 755 2345 6789', '0755-23456789', '075523456789'],
    ['+86 (0)21 62345678', '021-62345678', '02162345678'],
    ['400-820-8820', '400-820-8820', '4008208820'], // nationwide service number
  ])('reads %j', (raw, value, searchKey) => {
    expect(normalizePhone(raw)).toMatchObject({ kind: 'LANDLINE', value, searchKey, valid: true, issues: [] });
    expect(phoneSearchKey(raw)).toBe(searchKey);
  });

  it.each([
    ['021-62345678转123', '123'],
    ['021-62345678 ext. 45', '45'],
    ['021-62345678 x45', '45'],
    ['(0755)23456789#100', '100'],
    ['021-62345678分机8001', '8001'],
    ['021-62345678-8001', '8001'],
  ])('separates the extension of %j', (raw, extension) => {
    const r = normalizePhone(raw);
    expect(r).toMatchObject({ kind: 'LANDLINE', valid: true, extension });
    expect(r.searchKey === '02162345678' || r.searchKey === '075523456789').toBe(true);
  });
});

describe('invalid and placeholder values', () => {
  it.each([null, undefined, '', '   ', '\u3000'])('%j is EMPTY', (raw) => {
    expect(normalizePhone(raw)).toMatchObject({ value: null, searchKey: null, valid: false, issues: ['EMPTY'] });
  });

  it.each([
    '无',
    'N/A',
    'n/a',
    '-',
    '不详',
    '00000000000',
    '11111111111',
    '13333333333',
    '0000-0000',
    '021-00000000',
    '021-88888888',
  ])('%j is a PLACEHOLDER', (raw) => {
    const r = normalizePhone(raw);
    expect(r).toMatchObject({ searchKey: null, valid: false, issues: ['PLACEHOLDER'] });
    expect(phoneSearchKey(raw)).toBeNull();
  });

  it('does not treat ordinary numbers with many zeros as placeholders', () => {
    expect(normalizePhone('13800000000')).toMatchObject({ valid: true, searchKey: '13800000000' });
  });

  it.each([
    ['1380013800', 'BAD_LENGTH'], // 10 digits
    ['138001380001', 'BAD_LENGTH'], // 12 digits
    ['12800138000', 'BAD_LENGTH'], // 12x is not a mobile range structure
    ['021-0234567', 'BAD_FORMAT'], // subscriber numbers do not start with 0
    ['0123-4567890', 'BAD_FORMAT'], // 01x area codes other than 010 do not exist
    ['62345678', 'BAD_FORMAT'], // no area code
    ['+1 415 555 0100', 'NOT_MAINLAND'],
    ['call me', 'BAD_CHARACTERS'],
    ['138OO138000', 'BAD_CHARACTERS'],
  ])('flags %j as %s and keeps the input', (raw, issue) => {
    const r = normalizePhone(raw);
    expect(r.valid).toBe(false);
    expect(r.issues).toEqual([issue]);
    expect(r.value).not.toBeNull();
    expect(phoneSearchKey(raw)).toBeNull();
  });
});

describe('phoneSearchKey', () => {
  it('gives one key for every written form of the same number, as search input', () => {
    const keys = new Set(
      ['13800138000', '+86 138 0013 8000', '008613800138000', '+86-138-0013-8000', '86 13800138000'].map(
        phoneSearchKey,
      ),
    );
    expect([...keys]).toEqual(['13800138000']);
    expect(phoneSearchKey('021-62345678')).toBe(phoneSearchKey('(021)62345678'));
    expect(phoneSearchKey('王小明')).toBeNull();
    expect(phoneSearchKey('1380013')).toBeNull();
  });
});
