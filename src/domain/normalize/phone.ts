import { cleanText, isPlaceholder } from './text.ts';

/**
 * Mainland phone numbers in every form the contracts show: `13800138000`, `+86 138 0013 8000`,
 * `008613800138000`, `86 13800138000`, `013800138000`, `021-62345678`, `(021)62345678`, `+86 21 6234 5678`
 * (international form drops the trunk 0), extensions (`转123`, `ext 12`, `021-62345678-123`). The search key is
 * the national number (mobile: 11 digits; landline: area code with its 0 + subscriber number), so any written
 * form finds any other. Structure is checked, not operator prefixes (prefix lists go stale): a mobile is
 * `1[3-9]` + 9 digits; a landline is a 010 / 02x / 0[3-9]xx area code and a 7–8 digit subscriber number.
 * Placeholders (`无`, `N/A`, all-same digits) are invalid and get no search key.
 */
export type PhoneResult = {
  kind: 'MOBILE' | 'LANDLINE';
  value: string | null;
  searchKey: string | null;
  raw: string | null;
  valid: boolean;
  issues: string[];
  extension?: string;
};

type Parsed =
  | { kind: 'MOBILE' | 'LANDLINE'; value: string; searchKey: string }
  | { placeholder: true; kind: 'MOBILE' | 'LANDLINE'; value: string }
  | null;

/** Reads national digits (country code already removed). */
function parseNational(digits: string, international: boolean): Parsed {
  let d = digits;
  if (d.length === 12 && /^01[3-9]\d{9}$/.test(d)) d = d.slice(1); // trunk 0 before a mobile
  if (/^1[3-9]\d{9}$/.test(d)) {
    // 1 followed by ten equal digits (13333333333, 18888888888) is what forms get when a field is mandatory.
    if (/^1(\d)\1{9}$/.test(d)) return { placeholder: true, kind: 'MOBILE', value: d };
    return { kind: 'MOBILE', value: `+86 ${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`, searchKey: d };
  }
  // Nationwide service numbers of companies (400 / 800) have no area code.
  if (/^[48]00\d{7}$/.test(d))
    return { kind: 'LANDLINE', value: `${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`, searchKey: d };
  // In international form a landline drops its trunk 0 (+86 21 6234 5678).
  const withZero = international && !d.startsWith('0') ? `0${d}` : d;
  if (!withZero.startsWith('0')) return null;
  const area = /^0(10|2\d)/.test(withZero) ? withZero.slice(0, 3) : withZero.slice(0, 4);
  const subscriber = withZero.slice(area.length);
  if (!/^0(10|2\d|[3-9]\d{2})$/.test(area)) return null;
  if (/^(\d)\1{6,7}$/.test(subscriber)) return { placeholder: true, kind: 'LANDLINE', value: `${area}-${subscriber}` };
  if (!/^[1-9]\d{6,7}$/.test(subscriber)) return null;
  return { kind: 'LANDLINE', value: `${area}-${subscriber}`, searchKey: `${area}${subscriber}` };
}

/** Strips a country code: `+86`, `(+86)`, `0086`, `86 ` (with a separator) or `86` before an 11-digit mobile. */
function stripCountryCode(main: string): { digits: string; international: boolean; foreign: boolean } {
  const digits = main.replace(/\D/g, '');
  const t = main.trim();
  if (/^\(?\+/.test(t))
    return digits.startsWith('86')
      ? { digits: digits.slice(2), international: true, foreign: false }
      : { digits, international: true, foreign: true };
  if (digits.startsWith('0086')) return { digits: digits.slice(4), international: true, foreign: false };
  if (/^\(?86\)?[\s\-.]/.test(t)) return { digits: digits.slice(2), international: true, foreign: false };
  if (digits.length === 13 && /^861[3-9]/.test(digits))
    return { digits: digits.slice(2), international: true, foreign: false };
  return { digits, international: false, foreign: false };
}

export function normalizePhone(raw: string | null | undefined): PhoneResult {
  const cleaned = cleanText(raw);
  if (cleaned === null)
    return { kind: 'MOBILE', value: null, searchKey: null, raw: raw ?? null, valid: false, issues: ['EMPTY'] };
  if (isPlaceholder(cleaned))
    return { kind: 'MOBILE', value: null, searchKey: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  // Extensions (转 / 分机 / ext / x / #) are not part of the number.
  const [main = '', ...rest] = cleaned.split(/\s*(?:转|分机|ext\.?|x|#)\s*/i);
  const ext = rest.join('').replace(/\D/g, '');
  if (/[^\d\s()+\-.]/.test(main))
    return { kind: 'MOBILE', value: cleaned, searchKey: null, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };
  const { digits, international, foreign } = stripCountryCode(main);
  if (foreign)
    return {
      kind: 'MOBILE',
      value: `+${digits}`,
      searchKey: `+${digits}`,
      raw: cleaned,
      valid: false,
      issues: ['NOT_MAINLAND'],
    };
  if (digits === '' || /^(\d)\1+$/.test(digits))
    return {
      kind: 'MOBILE',
      value: digits || null,
      searchKey: null,
      raw: cleaned,
      valid: false,
      issues: ['PLACEHOLDER'],
    };

  let parsed = parseNational(digits, international);
  let extension = ext;
  if (parsed === null) {
    // A landline with its extension after a separator: 021-62345678-123.
    const m = /^(.*\d)[\s\-]+(\d{1,6})$/.exec(main.trim());
    if (m?.[1] && m[2]) {
      const head = stripCountryCode(m[1]);
      const p = parseNational(head.digits, head.international);
      if (p !== null && p.kind === 'LANDLINE') {
        parsed = p;
        extension = m[2];
      }
    }
  }
  const withExt = extension ? { extension } : {};
  if (parsed === null) {
    const kind = digits.startsWith('1') ? 'MOBILE' : 'LANDLINE';
    return {
      kind,
      value: cleaned,
      searchKey: null,
      raw: cleaned,
      valid: false,
      issues: [digits.startsWith('1') ? 'BAD_LENGTH' : 'BAD_FORMAT'],
    };
  }
  if ('placeholder' in parsed)
    return {
      kind: parsed.kind,
      value: parsed.value,
      searchKey: null,
      raw: cleaned,
      valid: false,
      issues: ['PLACEHOLDER'],
    };
  return {
    kind: parsed.kind,
    value: parsed.value,
    searchKey: parsed.searchKey,
    raw: cleaned,
    valid: true,
    issues: [],
    ...withExt,
  };
}

/** The search key of a phone typed into a search box (same rules as stored numbers); null when it is not one. */
export function phoneSearchKey(input: string): string | null {
  const r = normalizePhone(input);
  return r.valid ? r.searchKey : null;
}
