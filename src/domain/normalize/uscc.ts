import { cleanText } from './text.ts';
import type { IdResult } from './id-result.ts';

/**
 * Unified social credit code (GB 32100-2015) of organisations: 18 characters, check character over the first
 * 17 with weights 3^i mod 31. Some early pilot codes fail the check but are legal: flagged, not rejected
 * (the value is kept and marked valid=false only for length/charset problems).
 */
const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function usccCheckChar(first17: string): string | null {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) {
    const v = alphabet.indexOf(first17[i] as string);
    if (v < 0) return null;
    sum += v * (weights[i] as number);
  }
  const c = 31 - (sum % 31);
  return alphabet[c === 31 ? 0 : c] as string;
}

export function normalizeUscc(raw: string | null | undefined): IdResult {
  const cleaned = cleanText(raw);
  if (cleaned === null) return { value: null, raw: raw ?? null, valid: false, issues: ['EMPTY'] };
  const value = cleaned.replace(/[\s-]/g, '').toUpperCase();
  if (value.length !== 18) return { value, raw: cleaned, valid: false, issues: ['BAD_LENGTH'] };
  if (![...value].every((c) => alphabet.includes(c)))
    return { value, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };
  const ok = usccCheckChar(value.slice(0, 17)) === value[17];
  return { value, raw: cleaned, valid: true, issues: ok ? [] : ['BAD_CHECKSUM_WARNING'] };
}
