import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../../src/domain/normalize/index.ts';

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail(' Wang.XiaoMing@Example.CN ')).toEqual({
      value: 'wang.xiaoming@example.cn',
      valid: true,
      issues: [],
    });
    expect(normalizeEmail('WANG@EXAMPLE.COM      ')).toMatchObject({ value: 'wang@example.com', valid: true }); // CHAR padding
  });

  it('folds full-width characters (＠, letters) typed with a Chinese input method', () => {
    expect(normalizeEmail('ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ')).toMatchObject({ value: 'wang@example.cn', valid: true });
  });

  it('accepts ordinary addresses', () => {
    for (const e of ['12345678@example.com', 'a.b-c_d+tag@mail.example.com.cn', 'x@example-mail.cn'])
      expect(normalizeEmail(e).valid).toBe(true);
  });

  it('flags malformed addresses, keeping the value', () => {
    for (const e of [
      'wang@',
      '@example.cn',
      'wang.example.cn',
      'wang@example',
      'wang@@example.cn',
      'wang@-example.cn',
      'wang@example..cn',
    ]) {
      const r = normalizeEmail(e);
      expect(r.valid).toBe(false);
      expect(r.issues).toEqual(['BAD_FORMAT']);
      expect(r.value).not.toBeNull();
    }
  });

  it('treats empty and placeholder values as missing', () => {
    expect(normalizeEmail(null)).toEqual({ value: null, valid: false, issues: ['EMPTY'] });
    expect(normalizeEmail('   ')).toEqual({ value: null, valid: false, issues: ['EMPTY'] });
    expect(normalizeEmail('无')).toEqual({ value: null, valid: false, issues: ['PLACEHOLDER'] });
    expect(normalizeEmail('N/A')).toEqual({ value: null, valid: false, issues: ['PLACEHOLDER'] });
  });
});
