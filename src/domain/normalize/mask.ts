/**
 * Display masking of personal information (domain guide: `3405**********001X`, `138****5678`). Used only by
 * src/auth/access-policy.ts, which decides when a value is masked.
 */
export type MaskKind = 'ID_NUMBER' | 'PHONE' | 'EMAIL' | 'NAME' | 'BANK_ACCOUNT' | 'ADDRESS';

function keepEnds(value: string, head: number, tail: number): string {
  const chars = [...value];
  if (chars.length <= head + tail) return '*'.repeat(chars.length);
  return (
    chars.slice(0, head).join('') + '*'.repeat(chars.length - head - tail) + chars.slice(chars.length - tail).join('')
  );
}

export function maskValue(kind: MaskKind, value: string | null): string | null {
  if (value === null) return null;
  switch (kind) {
    case 'ID_NUMBER': {
      // Resident ids and credit codes (15–18 characters) as the domain guide shows; shorter documents
      // (passports, permits: 8–11 characters) would stay almost readable with 4 + 4, so keep 1 + 2.
      const compact = value.replace(/\s/g, '');
      return [...compact].length >= 15 ? keepEnds(compact, 4, 4) : keepEnds(compact, 1, 2);
    }
    case 'PHONE': {
      const digits = value.replace(/\D/g, '');
      const national = digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
      return national.length === 11 ? keepEnds(national, 3, 4) : keepEnds(national, 3, 2);
    }
    case 'EMAIL': {
      const at = value.indexOf('@');
      return at <= 0 ? keepEnds(value, 1, 0) : `${value[0]}***${value.slice(at)}`;
    }
    case 'NAME': {
      const chars = [...value.replace(/\s/g, '')];
      return chars.length <= 1 ? '*' : `${chars[0]}${'*'.repeat(chars.length - 1)}`;
    }
    case 'BANK_ACCOUNT':
      return keepEnds(value.replace(/\s/g, ''), 4, 4);
    case 'ADDRESS': {
      const chars = [...value];
      return chars.length <= 6
        ? '*'.repeat(chars.length)
        : `${chars.slice(0, 6).join('')}${'*'.repeat(Math.min(chars.length - 6, 10))}`;
    }
  }
}
