import { MappingError } from './errors.ts';

/**
 * Small typed readers for source rows: each either returns a clean value or throws a MappingError that names
 * the field, so a bad row is quarantined with a reason a person can act on.
 */
export type Row = Record<string, unknown>;

/** Trims CHAR padding (and full-width spaces); empty → null. */
export function text(row: Row, field: string): string | null {
  const v = row[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new MappingError('INVALID_VALUE', `${field} must be a string (got ${JSON.stringify(v)})`);
  }
  const s = String(v).replace(/^[\s\u3000]+|[\s\u3000]+$/g, '');
  return s === '' ? null : s;
}

export function requiredText(row: Row, field: string): string {
  const v = text(row, field);
  if (v === null) throw new MappingError('MISSING_FIELD', `${field} is required`);
  return v;
}

/** A code from a closed list; blank → null; anything else outside the list is rejected. */
export function code<T extends string>(row: Row, field: string, allowed: Readonly<Record<string, T>>): T | null {
  const v = text(row, field);
  if (v === null) return null;
  const mapped = allowed[v];
  if (mapped === undefined) {
    throw new MappingError(
      'UNKNOWN_CODE',
      `${field} has unknown code ${JSON.stringify(v)} (expected one of ${Object.keys(allowed).join(', ')})`,
    );
  }
  return mapped;
}

/** String decimals as the sources send them ("1234.50"); returned unchanged as a string for NUMERIC columns. */
export function decimal(row: Row, field: string): string | null {
  const v = text(row, field);
  if (v === null) return null;
  if (!/^-?\d{1,16}(\.\d{1,6})?$/.test(v))
    throw new MappingError('INVALID_VALUE', `${field} is not a decimal number (got ${JSON.stringify(v)})`);
  return v;
}

export function integer(row: Row, field: string): number | null {
  const v = row[field];
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isSafeInteger(n))
    throw new MappingError('INVALID_VALUE', `${field} is not an integer (got ${JSON.stringify(v)})`);
  return n;
}

/** Microseconds since the epoch (e.g. DTEUPD) as a bigint-safe decimal string. */
export function micros(row: Row, field: string): string | null {
  const v = row[field];
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  if (!/^\d{1,19}$/.test(s))
    throw new MappingError('INVALID_VALUE', `${field} is not a microsecond timestamp (got ${JSON.stringify(v)})`);
  return s;
}

export function microsToDate(us: string): Date {
  return new Date(Number(BigInt(us) / 1000n));
}
