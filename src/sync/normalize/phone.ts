import { cleanText, isPlaceholder } from './text.ts';

/**
 * Mainland phone numbers in every form the contracts show: `13800138000`, `+86 138 0013 8000`,
 * `008613800138000`, `86 13800138000`, `013800138000`, `021-62345678`, `(021)62345678`. The search key is the
 * national number (mobile: 11 digits; landline: area code with its 0 + subscriber number), so any written
 * form finds any other. Structure is checked, not operator prefixes (prefix lists go stale).
 */
export type PhoneResult = { kind: 'MOBILE' | 'LANDLINE'; value: string | null; searchKey: string | null; raw: string | null; valid: boolean; issues: string[] };

export function normalizePhone(raw: string | null | undefined): PhoneResult {
  const cleaned = cleanText(raw);
  if (cleaned === null) return { kind: 'MOBILE', value: null, searchKey: null, raw: raw ?? null, valid: false, issues: ['EMPTY'] };
  if (isPlaceholder(cleaned)) return { kind: 'MOBILE', value: null, searchKey: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  // Extensions (转 / ext / x) are not part of the number.
  const [main = ''] = cleaned.split(/\s*(?:转|ext\.?|x|#)\s*/i);
  if (/[^\d\s()+\-.]/.test(main)) return { kind: 'MOBILE', value: cleaned, searchKey: null, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };
  let digits = main.replace(/\D/g, '');
  if (main.trim().startsWith('+')) {
    if (!digits.startsWith('86')) return { kind: 'MOBILE', value: `+${digits}`, searchKey: `+${digits}`, raw: cleaned, valid: false, issues: ['NOT_MAINLAND'] };
    digits = digits.slice(2);
  } else if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);

  if (digits.length === 12 && /^01[3-9]\d{9}$/.test(digits)) digits = digits.slice(1); // trunk 0 before a mobile
  if (/^(\d)\1+$/.test(digits)) return { kind: 'MOBILE', value: digits, searchKey: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  if (/^1[3-9]\d{9}$/.test(digits)) {
    if (/^1(\d)\1{9}$/.test(digits)) return { kind: 'MOBILE', value: digits, searchKey: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
    return { kind: 'MOBILE', value: `+86 ${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`, searchKey: digits, raw: cleaned, valid: true, issues: [] };
  }
  // Landline: area code 0 + 2 or 3 digits (010, 02x: 3 digits in all; others 4), subscriber 7–8 digits.
  const withZero = digits.startsWith('0') ? digits : `0${digits}`;
  const area = /^0(10|2\d)/.test(withZero) ? withZero.slice(0, 3) : withZero.slice(0, 4);
  const subscriber = withZero.slice(area.length);
  if (digits.startsWith('0') && /^0[1-9]\d{1,2}$/.test(area) && /^[2-9]\d{6,7}$/.test(subscriber)) {
    if (/^(\d)\1+$/.test(subscriber)) return { kind: 'LANDLINE', value: `${area}-${subscriber}`, searchKey: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
    return { kind: 'LANDLINE', value: `${area}-${subscriber}`, searchKey: `${area}${subscriber}`, raw: cleaned, valid: true, issues: [] };
  }
  const kind = digits.startsWith('1') ? 'MOBILE' : 'LANDLINE';
  return { kind, value: cleaned, searchKey: null, raw: cleaned, valid: false, issues: [digits.startsWith('1') ? 'BAD_LENGTH' : 'BAD_FORMAT'] };
}

/** The search key of a phone typed into a search box; null when it is not a phone number. */
export function phoneSearchKey(input: string): string | null {
  const r = normalizePhone(input);
  return r.valid ? r.searchKey : null;
}
