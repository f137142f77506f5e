import type { IdIssue, IdResult } from './id-result.ts';
import { cleanText, isPlaceholder } from './text.ts';
import { normalizeUscc } from './uscc.ts';
import { parseLooseDate } from './dates.ts';

/**
 * Identity documents. The resident id card (GB 11643-1999) carries the birth date and sex and a MOD 11-2
 * check character; legacy 15-digit numbers are converted to 18. Invalid values are kept, flagged with why,
 * and never used as evidence for linking (src/sync/match).
 */
export type { IdIssue, IdResult };
export type IdDocumentType =
  | 'RESIDENT_ID'
  | 'HOUSEHOLD_REGISTER'
  | 'PASSPORT'
  | 'MILITARY_ID'
  | 'HK_MACAO_PERMIT'
  | 'TAIWAN_PERMIT'
  | 'USCC'
  | 'OTHER';

const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const checkChars = '10X98765432';

/** ISO 7064 MOD 11-2 check character over the first 17 digits. */
export function residentIdCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * (weights[i] as number);
  return checkChars[sum % 11] as string;
}

function realDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

export function normalizeResidentId(
  raw: string | null | undefined,
  check?: { birthDate?: string | null; sex?: 'M' | 'F' | 'U' | null },
): IdResult {
  const cleaned = cleanText(raw);
  if (cleaned === null) return { value: null, raw: raw ?? null, valid: false, issues: ['EMPTY'] };
  if (isPlaceholder(cleaned)) return { value: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  let value = cleaned.replace(/[\s-]/g, '').toUpperCase();
  const issues: string[] = [];
  if (!/^\d+X?$/.test(value)) return { value, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };
  if (value.length === 15 && /^\d{15}$/.test(value)) {
    const first17 = `${value.slice(0, 6)}19${value.slice(6)}`;
    value = `${first17}${residentIdCheckChar(first17)}`;
    issues.push('CONVERTED_FROM_15');
  } else if (value.length !== 18) {
    return { value, raw: cleaned, valid: false, issues: ['BAD_LENGTH'] };
  }
  if (!/^\d{17}[\dX]$/.test(value)) return { value, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };

  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const birthDate = `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}`;
  const sex: 'M' | 'F' = Number(value[16]) % 2 === 1 ? 'M' : 'F';
  let valid = true;
  if (residentIdCheckChar(value.slice(0, 17)) !== value[17]) {
    issues.push('BAD_CHECKSUM');
    valid = false;
  }
  if (!realDate(y, m, d) || y < 1900 || Date.UTC(y, m - 1, d) > Date.now()) {
    issues.push('BAD_BIRTH_DATE');
    valid = false;
  }
  // Mismatches with the record are flagged but do not invalidate the number: either side may hold the typo.
  // The record's birth date may come in any of the contracts' forms (1985-03-07, 19850307, 1985/3/7).
  const expectedBirth = parseLooseDate(check?.birthDate ?? null);
  if (expectedBirth !== null && valid && expectedBirth !== birthDate) issues.push('BIRTH_DATE_MISMATCH');
  if (check?.sex && check.sex !== 'U' && valid && check.sex !== sex) issues.push('SEX_MISMATCH');
  return valid ? { value, raw: cleaned, valid, issues, birthDate, sex } : { value, raw: cleaned, valid, issues };
}

const typeCodes: Record<string, IdDocumentType> = {
  '01': 'RESIDENT_ID',
  '02': 'HOUSEHOLD_REGISTER',
  '03': 'PASSPORT',
  '04': 'MILITARY_ID',
  '06': 'HK_MACAO_PERMIT',
  '07': 'TAIWAN_PERMIT',
  '08': 'USCC',
  '99': 'OTHER',
};

/** What a resident id number looks like, even when wrong (15 to 18 digits, maybe a final X): used when no type code came. */
const residentShaped = /^\d{14,17}[\dX]$/;

/**
 * Dispatches on the contracts' id type codes (01 resident id … 08 credit code, 99 other). Without a type code
 * a value shaped like a resident id number is read as one; anything else is OTHER.
 */
export function normalizeIdDocument(
  typeCode: string | null | undefined,
  raw: string | null | undefined,
  check?: { birthDate?: string | null; sex?: 'M' | 'F' | 'U' | null },
): IdResult & { type: IdDocumentType } {
  const shaped = residentShaped.test(cleanText(raw)?.replace(/[\s-]/g, '').toUpperCase() ?? '');
  const code = cleanText(typeCode) ?? (shaped ? '01' : '99');
  const type = typeCodes[code.padStart(2, '0')];
  if (type === undefined) {
    const value = cleanText(raw)?.replace(/\s/g, '').toUpperCase() ?? null;
    return { type: 'OTHER', value, raw: raw ?? null, valid: false, issues: ['UNKNOWN_TYPE'] };
  }
  // The household register (户口簿) carries the holder's resident id number.
  if (type === 'RESIDENT_ID' || type === 'HOUSEHOLD_REGISTER') return { type, ...normalizeResidentId(raw, check) };
  if (type === 'USCC') return { type, ...normalizeUscc(raw) };
  const cleaned = cleanText(raw);
  if (cleaned === null) return { type, value: null, raw: raw ?? null, valid: false, issues: ['EMPTY'] };
  const value = cleaned.replace(/[\s-]/g, '').toUpperCase();
  if (isPlaceholder(value)) return { type, value: null, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  // Passports and permits are letters and digits; military officer cards and other documents can carry
  // Chinese characters (军字第1234567号).
  const shape = type === 'MILITARY_ID' || type === 'OTHER' ? /^[\p{Script=Han}A-Z0-9()]{4,30}$/u : /^[A-Z0-9]{5,20}$/;
  if (!shape.test(value)) return { type, value, raw: cleaned, valid: false, issues: ['BAD_CHARACTERS'] };
  if (/^(.)\1+$/.test(value)) return { type, value, raw: cleaned, valid: false, issues: ['PLACEHOLDER'] };
  return { type, value, raw: cleaned, valid: true, issues: [] };
}
