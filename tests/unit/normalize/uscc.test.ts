import { describe, expect, it } from 'vitest';
import { normalizeIdDocument, normalizeUscc, usccCheckChar } from '../../../src/domain/normalize/index.ts';

/** GB 32100-2015 check character, computed here from the domain guide's statement of it. */
const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
function gb32100(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += alphabet.indexOf(first17[i] as string) * (3 ** i % 31);
  const c = 31 - (sum % 31);
  return alphabet[c === 31 ? 0 : c] as string;
}
const code = (first17: string) => `${first17}${gb32100(first17)}`;

describe('unified social credit code', () => {
  const samples = ['91350100M000100Y4', '91110105MA01ABCD1', '12100000400000000', '93440300123456789'];

  it('computes the check character as GB 32100-2015 states', () => {
    for (const s of samples) expect(usccCheckChar(s)).toBe(gb32100(s));
    expect(usccCheckChar('9135010OM000100Y4')).toBeNull(); // O is not in the alphabet
  });

  it('accepts valid codes, cleaned and upper-cased', () => {
    for (const s of samples)
      expect(normalizeUscc(code(s))).toEqual({ value: code(s), raw: code(s), valid: true, issues: [] });
    const c = code(samples[1] as string);
    expect(normalizeUscc(` ${c.toLowerCase().slice(0, 9)} ${c.toLowerCase().slice(9)} `)).toMatchObject({
      value: c,
      valid: true,
    });
    expect(normalizeUscc(c.replace(/[0-9A-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)))).toMatchObject(
      { value: c, valid: true },
    );
  });

  it('warns (does not reject) when the check character fails: early pilot codes are legal', () => {
    const first17 = samples[0] as string;
    const wrong = `${first17}${gb32100(first17) === '0' ? '1' : '0'}`;
    expect(normalizeUscc(wrong)).toEqual({ value: wrong, raw: wrong, valid: true, issues: ['BAD_CHECKSUM_WARNING'] });
  });

  it('rejects wrong lengths and characters outside the alphabet, keeping the value', () => {
    expect(normalizeUscc('9135010')).toEqual({
      value: '9135010',
      raw: '9135010',
      valid: false,
      issues: ['BAD_LENGTH'],
    });
    expect(normalizeUscc(`${code(samples[0] as string)}0`)).toMatchObject({ valid: false, issues: ['BAD_LENGTH'] });
    expect(normalizeUscc('91350100M000100IO4')).toMatchObject({
      value: '91350100M000100IO4',
      valid: false,
      issues: ['BAD_CHARACTERS'],
    });
    expect(normalizeUscc('   ')).toMatchObject({ value: null, valid: false, issues: ['EMPTY'] });
  });

  it('is what id type 08 dispatches to', () => {
    const c = code(samples[2] as string);
    expect(normalizeIdDocument('08', c.toLowerCase())).toMatchObject({ type: 'USCC', value: c, valid: true });
  });
});
