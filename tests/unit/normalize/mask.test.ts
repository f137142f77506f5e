import { describe, expect, it } from 'vitest';
import { maskValue } from '../../../src/domain/normalize/index.ts';

/**
 * The domain guide's masking examples: `3405**********001X` for an identity number and `138****5678` for a
 * mobile (C2 data is masked on display). The other kinds follow the same idea: keep just enough to recognise.
 */
describe('maskValue', () => {
  it('masks identity numbers as the domain guide shows: first 4 and last 4 kept', () => {
    expect(maskValue('ID_NUMBER', '34052419800101001X')).toBe('3405**********001X');
    expect(maskValue('ID_NUMBER', '110105198503071230')).toBe('1101**********1230');
    expect(maskValue('ID_NUMBER', '370802940221002')).toBe('3708*******1002');
  });
  it('masks short documents (passports, permits) harder: first 1 and last 2 kept', () => {
    expect(maskValue('ID_NUMBER', 'E12345678')).toBe('E******78');
  });
  it('masks mobiles as the domain guide shows, whatever the written form', () => {
    expect(maskValue('PHONE', '13800135678')).toBe('138****5678');
    expect(maskValue('PHONE', '+86 138 0013 5678')).toBe('138****5678');
    expect(maskValue('PHONE', '138-0013-5678')).toBe('138****5678');
  });
  it('masks landlines keeping the area code', () => {
    expect(maskValue('PHONE', '021-62345678')).toBe('021****5678');
  });
  it('masks names keeping the first character', () => {
    expect(maskValue('NAME', '张三')).toBe('张*');
    expect(maskValue('NAME', '王小明')).toBe('王**');
    expect(maskValue('NAME', '李')).toBe('*');
  });
  it('masks emails keeping the first character and the domain', () => {
    expect(maskValue('EMAIL', 'wang.xiaoming@example.cn')).toBe('w***@example.cn');
  });
  it('masks bank accounts keeping the first 4 and last 4 digits', () => {
    expect(maskValue('BANK_ACCOUNT', '6222021234567890123')).toBe('6222***********0123');
    expect(maskValue('BANK_ACCOUNT', '6222 0212 3456 7890 123')).toBe('6222***********0123');
  });
  it('masks addresses after the first 6 characters (about the district)', () => {
    expect(maskValue('ADDRESS', '北京市朝阳区建国路88号')).toBe('北京市朝阳区******');
  });
  it('passes null through', () => {
    for (const kind of ['ID_NUMBER', 'PHONE', 'EMAIL', 'NAME', 'BANK_ACCOUNT', 'ADDRESS'] as const)
      expect(maskValue(kind, null)).toBeNull();
  });
});
