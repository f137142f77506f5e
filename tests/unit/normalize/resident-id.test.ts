import { describe, expect, it } from 'vitest';
import { normalizeIdDocument, normalizeResidentId, residentIdCheckChar } from '../../../src/domain/normalize/index.ts';

/**
 * Check characters are computed here independently of the code under test (ISO 7064 MOD 11-2 as the domain
 * guide states it: weights 2^(17-i) mod 11, `sum mod 11` indexes `1 0 X 9 8 7 6 5 4 3 2`).
 */
function mod112(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * (2 ** (17 - i) % 11);
  return '10X98765432'[sum % 11] as string;
}
const id = (first17: string) => `${first17}${mod112(first17)}`;
const wrongCheck = (first17: string) => `${first17}${mod112(first17) === '0' ? '1' : '0'}`;

const male = id('11010519850307123'); // sequence 123: odd → male
const female = id('31010419920229004'); // 1992-02-29 (leap year), sequence 004: even → female

describe('resident id check character', () => {
  it('agrees with the independent computation and the domain guide example', () => {
    expect(mod112('34052419800101001')).toBe('X');
    for (const first17 of ['11010519850307123', '31010419920229004', '44030520001231567', '51010719500101998']) {
      expect(residentIdCheckChar(first17)).toBe(mod112(first17));
    }
  });
});

describe('normalizeResidentId', () => {
  it('accepts valid 18-digit numbers and reads birth date and sex from them', () => {
    expect(normalizeResidentId('34052419800101001X')).toEqual({
      value: '34052419800101001X',
      raw: '34052419800101001X',
      valid: true,
      issues: [],
      birthDate: '1980-01-01',
      sex: 'M',
    });
    expect(normalizeResidentId(male)).toMatchObject({ value: male, valid: true, birthDate: '1985-03-07', sex: 'M' });
    expect(normalizeResidentId(female)).toMatchObject({
      value: female,
      valid: true,
      birthDate: '1992-02-29',
      sex: 'F',
    });
  });

  it('trims, folds full-width characters, removes inner spaces and upper-cases x', () => {
    expect(normalizeResidentId('  34052419800101001x  ').value).toBe('34052419800101001X');
    expect(normalizeResidentId('340524 1980 0101 001X')).toMatchObject({ value: '34052419800101001X', valid: true });
    expect(normalizeResidentId('３４０５２４１９８００１０１００１ｘ')).toMatchObject({
      value: '34052419800101001X',
      valid: true,
    });
    expect(normalizeResidentId(`\u3000${male}\u3000`)).toMatchObject({ value: male, valid: true });
    expect(normalizeResidentId(`${male}      `)).toMatchObject({ value: male, valid: true }); // CHAR(20) padding
  });

  it('keeps a number with a bad check character, flagged BAD_CHECKSUM', () => {
    const bad = wrongCheck('11010519850307123');
    expect(normalizeResidentId(bad)).toEqual({ value: bad, raw: bad, valid: false, issues: ['BAD_CHECKSUM'] });
    expect(normalizeResidentId('340524198001010010')).toMatchObject({ valid: false, issues: ['BAD_CHECKSUM'] });
  });

  it('keeps numbers of the wrong length (17 digits: lost check character), flagged BAD_LENGTH', () => {
    expect(normalizeResidentId('11010519850307123')).toEqual({
      value: '11010519850307123',
      raw: '11010519850307123',
      valid: false,
      issues: ['BAD_LENGTH'],
    });
    expect(normalizeResidentId('1101051985030712')).toMatchObject({ valid: false, issues: ['BAD_LENGTH'] });
    expect(normalizeResidentId(`${male}1`)).toMatchObject({ valid: false, issues: ['BAD_LENGTH'] });
  });

  it('flags letters other than a final X as BAD_CHARACTERS', () => {
    expect(normalizeResidentId('1101051985O307123X')).toMatchObject({ valid: false, issues: ['BAD_CHARACTERS'] });
    expect(normalizeResidentId('X10105198503071230')).toMatchObject({ valid: false, issues: ['BAD_CHARACTERS'] });
  });

  it('converts legacy 15-digit numbers: insert 19 after the region code, compute the check character', () => {
    expect(normalizeResidentId('370802940221002')).toEqual({
      value: '370802199402210029',
      raw: '370802940221002',
      valid: true,
      issues: ['CONVERTED_FROM_15'],
      birthDate: '1994-02-21',
      sex: 'F',
    });
    const converted = normalizeResidentId('110105850307123');
    expect(converted.value).toBe(male);
    expect(converted).toMatchObject({ valid: true, birthDate: '1985-03-07', sex: 'M' });
  });

  it('rejects birth dates that are not real, in the future or before 1900', () => {
    expect(normalizeResidentId(id('11010519850230123'))).toMatchObject({ valid: false, issues: ['BAD_BIRTH_DATE'] }); // 30 February
    expect(normalizeResidentId(id('11010519851301123'))).toMatchObject({ valid: false, issues: ['BAD_BIRTH_DATE'] }); // month 13
    expect(normalizeResidentId(id('11010519930229123')).issues).toContain('BAD_BIRTH_DATE'); // 1993 is not a leap year
    expect(normalizeResidentId(id('11010518991231123')).issues).toContain('BAD_BIRTH_DATE');
    const nextYear = new Date().getUTCFullYear() + 1;
    expect(normalizeResidentId(id(`110105${nextYear}0101123`)).issues).toContain('BAD_BIRTH_DATE');
    expect(normalizeResidentId(id('11010519000101123'))).toMatchObject({ valid: true, birthDate: '1900-01-01' });
    // A value with both problems keeps the value and lists both.
    const both = wrongCheck('11010519850230123');
    expect(normalizeResidentId(both)).toMatchObject({
      value: both,
      valid: false,
      issues: ['BAD_CHECKSUM', 'BAD_BIRTH_DATE'],
    });
  });

  it('cross-checks birth date and sex against the record, flagging without invalidating', () => {
    expect(normalizeResidentId(male, { birthDate: '1985-03-07', sex: 'M' })).toMatchObject({ valid: true, issues: [] });
    expect(normalizeResidentId(male, { birthDate: '19850307' })).toMatchObject({ issues: [] });
    expect(normalizeResidentId(male, { birthDate: '1985/3/7' })).toMatchObject({ issues: [] });
    expect(normalizeResidentId(male, { birthDate: '1985-03-08' })).toMatchObject({
      valid: true,
      issues: ['BIRTH_DATE_MISMATCH'],
    });
    expect(normalizeResidentId(male, { sex: 'F' })).toMatchObject({ valid: true, issues: ['SEX_MISMATCH'] });
    expect(normalizeResidentId(female, { birthDate: '1992-03-01', sex: 'M' }).issues).toEqual([
      'BIRTH_DATE_MISMATCH',
      'SEX_MISMATCH',
    ]);
    // Unknown on the record side is not a mismatch.
    expect(normalizeResidentId(male, { birthDate: null, sex: 'U' }).issues).toEqual([]);
    expect(normalizeResidentId(male, { birthDate: 'unknown', sex: null }).issues).toEqual([]);
  });

  it('treats empty and placeholder values as missing', () => {
    for (const empty of [null, undefined, '', '   ', '\u3000']) {
      expect(normalizeResidentId(empty)).toMatchObject({ value: null, valid: false, issues: ['EMPTY'] });
    }
    expect(normalizeResidentId('无')).toMatchObject({ value: null, valid: false, issues: ['PLACEHOLDER'] });
    expect(normalizeResidentId('N/A')).toMatchObject({ value: null, valid: false, issues: ['PLACEHOLDER'] });
  });
});

describe('normalizeIdDocument', () => {
  it('maps the contract type codes to names', () => {
    const cases: [string, string, string][] = [
      ['01', male, 'RESIDENT_ID'],
      ['02', male, 'HOUSEHOLD_REGISTER'],
      ['03', 'E12345678', 'PASSPORT'],
      ['04', '12345678', 'MILITARY_ID'],
      ['06', 'C12345678', 'HK_MACAO_PERMIT'],
      ['07', '12345678', 'TAIWAN_PERMIT'],
      ['99', 'AB123456', 'OTHER'],
    ];
    for (const [code, value, type] of cases)
      expect(normalizeIdDocument(code, value)).toMatchObject({ type, value, valid: true });
  });

  it('validates resident ids (01) and household registers (02) as resident ids, with the record cross-check', () => {
    expect(normalizeIdDocument('01', wrongCheck('11010519850307123'))).toMatchObject({
      type: 'RESIDENT_ID',
      valid: false,
      issues: ['BAD_CHECKSUM'],
    });
    expect(normalizeIdDocument('02', '370802940221002')).toMatchObject({
      type: 'HOUSEHOLD_REGISTER',
      value: '370802199402210029',
      valid: true,
    });
    expect(normalizeIdDocument('01', male, { birthDate: '1990-01-01', sex: 'M' })).toMatchObject({
      valid: true,
      issues: ['BIRTH_DATE_MISMATCH'],
    });
    expect(normalizeIdDocument(' 1 ', male)).toMatchObject({ type: 'RESIDENT_ID', valid: true }); // code without its leading zero
  });

  it('dispatches 08 to the unified social credit code', () => {
    expect(normalizeIdDocument('08', '9135010')).toMatchObject({ type: 'USCC', valid: false, issues: ['BAD_LENGTH'] });
  });

  it('cleans other documents: trimmed, spaces removed, upper-case; valid when plausible', () => {
    expect(normalizeIdDocument('03', ' e1234 5678 ')).toMatchObject({
      type: 'PASSPORT',
      value: 'E12345678',
      valid: true,
      issues: [],
    });
    expect(normalizeIdDocument('03', 'ｇ１２３４５６７８')).toMatchObject({ value: 'G12345678', valid: true });
    expect(normalizeIdDocument('03', 'E1')).toMatchObject({ type: 'PASSPORT', value: 'E1', valid: false });
    expect(normalizeIdDocument('06', 'C1234/5678')).toMatchObject({ valid: false, issues: ['BAD_CHARACTERS'] });
    expect(normalizeIdDocument('03', '000000000')).toMatchObject({ valid: false, issues: ['PLACEHOLDER'] });
    expect(normalizeIdDocument('03', '')).toMatchObject({
      type: 'PASSPORT',
      value: null,
      valid: false,
      issues: ['EMPTY'],
    });
    // Military officer cards carry Chinese characters.
    expect(normalizeIdDocument('04', '军字第1234567号')).toMatchObject({
      type: 'MILITARY_ID',
      value: '军字第1234567号',
      valid: true,
    });
  });

  it('reads a missing type code from the shape of the value', () => {
    expect(normalizeIdDocument(null, male)).toMatchObject({ type: 'RESIDENT_ID', valid: true });
    expect(normalizeIdDocument(null, '11010519850307123')).toMatchObject({
      type: 'RESIDENT_ID',
      valid: false,
      issues: ['BAD_LENGTH'],
    });
    expect(normalizeIdDocument(undefined, 'E12345678')).toMatchObject({
      type: 'OTHER',
      value: 'E12345678',
      valid: true,
    });
  });

  it('marks unknown type codes', () => {
    expect(normalizeIdDocument('42', 'x123456')).toMatchObject({
      type: 'OTHER',
      value: 'X123456',
      valid: false,
      issues: ['UNKNOWN_TYPE'],
    });
  });
});
