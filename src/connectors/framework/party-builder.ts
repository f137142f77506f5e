import type { CanonicalContactPoint, CanonicalIdentifier, PartyAttributes } from '../../domain/canonical.ts';
import {
  cleanText,
  normalizeEmail,
  normalizeIdDocument,
  normalizePersonName,
  normalizePhone,
} from '../../domain/normalize/index.ts';

/**
 * Builds normalised person attributes from the loose fields channel systems send (a full name, an id document,
 * a mobile, …), so every connector produces identical shapes for the matcher.
 */
export type PersonFields = {
  name?: string | null;
  idType?: string | null;
  idNumber?: string | null;
  mobile?: string | null;
  email?: string | null;
  birthDate?: string | null;
  sex?: 'M' | 'F' | 'U' | null;
  address?: string | null;
};

export function personAttributes(f: PersonFields): PartyAttributes {
  const name = normalizePersonName({ full: f.name ?? null });
  const identifiers: CanonicalIdentifier[] = [];
  if (f.idNumber) {
    const id = normalizeIdDocument(f.idType ?? null, f.idNumber, {
      birthDate: f.birthDate ?? null,
      sex: f.sex ?? null,
    });
    identifiers.push({ type: id.type, value: id.value, raw: id.raw, valid: id.valid, issues: id.issues });
  }
  const contactPoints: CanonicalContactPoint[] = [];
  // A blank phone or e-mail (spaces, invisible characters) is no contact point: stored, it would be a shared
  // "value" between strangers (and an EMPTY issue on every such record).
  if (cleanText(f.mobile) !== null && f.mobile) {
    const p = normalizePhone(f.mobile);
    contactPoints.push({
      kind: p.kind,
      value: p.value,
      raw: f.mobile,
      searchKey: p.searchKey,
      valid: p.valid,
      issues: p.issues,
    });
  }
  if (cleanText(f.email) !== null && f.email) {
    const e = normalizeEmail(f.email);
    contactPoints.push({
      kind: 'EMAIL',
      value: e.value,
      raw: f.email,
      searchKey: e.value,
      valid: e.valid,
      issues: e.issues,
    });
  }
  if (f.address)
    contactPoints.push({ kind: 'ADDRESS', value: f.address, raw: f.address, searchKey: null, valid: true, issues: [] });
  const idResult = identifiers[0];
  return {
    kind: 'PERSON',
    fullName: name.full,
    familyName: name.family,
    givenName: name.given,
    nameKey: name.key,
    birthDate: f.birthDate ?? null,
    sex: f.sex ?? null,
    occupationCode: null,
    identifiers: idResult ? identifiers : [],
    contactPoints,
  };
}

/** A stable source id for a person a system identifies only by id document (billing payers, claimants). */
export function documentSourceId(
  idType: string | null,
  idNumber: string | null,
  fallback: string | null,
): string | null {
  if (idNumber) {
    const id = normalizeIdDocument(idType, idNumber);
    if (id.value) return `${id.type}:${id.value}`;
  }
  return fallback;
}
