import { maskValue } from '../domain/normalize/index.ts';
import { type EmbeddedKind, protectEvidence, protectSourceKey, protectText } from './embedded-values.ts';
import type { Role, Viewer } from './viewer.ts';

/**
 * THE place where the hub decides who sees what (PIPL art. 51, JR/T 0171-2020 grading): every schema field
 * marked `@sensitive(kind: …)` goes through `protect` (wired in src/resolvers/sensitive-directive.ts), and
 * operations check `require`. Resolvers never mask by themselves.
 */
export type SensitiveKind =
  | 'ID_NUMBER'
  | 'PHONE'
  | 'EMAIL'
  | 'NAME'
  | 'ADDRESS'
  | 'BIRTH_DATE'
  | 'CONTACT_POINT'
  | 'RAW_RECORD'
  | 'BANK_ACCOUNT'
  | 'RISK_DETAIL'
  | 'SOURCE_KEY'
  | 'EVIDENCE'
  | 'FREE_TEXT';
/** Kinds that hold values of other kinds inside them (src/auth/embedded-values.ts). */
type CompositeKind = 'CONTACT_POINT' | 'SOURCE_KEY' | 'EVIDENCE' | 'FREE_TEXT';
type ConcreteKind = Exclude<SensitiveKind, CompositeKind>;

const unmaskedFor: Record<Role, readonly ConcreteKind[]> = {
  // Call-centre and channel apps verify the caller by name; numbers stay masked on their screens.
  CHANNEL_APP: ['NAME'],
  // Underwriting and risk work need the identity behind a proposal.
  UNDERWRITER: ['NAME', 'BIRTH_DATE', 'ID_NUMBER', 'RISK_DETAIL'],
  RISK_ADMIN: ['NAME', 'BIRTH_DATE', 'ID_NUMBER', 'BANK_ACCOUNT', 'RISK_DETAIL'],
  // Stewards resolve duplicates: they must compare the full values and the raw source payloads.
  DATA_STEWARD: ['NAME', 'BIRTH_DATE', 'ID_NUMBER', 'PHONE', 'EMAIL', 'ADDRESS', 'RAW_RECORD', 'BANK_ACCOUNT'],
  // Integration admins operate pipelines, not customers.
  INTEGRATION_ADMIN: [],
  // Compliance reads who saw what (the access audit), not the data itself.
  COMPLIANCE: [],
};

/** Kinds of grade C2 whose unmasked reads are written to the access log (who, which customer, which fields). */
export const auditedKinds: ReadonlySet<ConcreteKind> = new Set([
  'ID_NUMBER',
  'PHONE',
  'EMAIL',
  'ADDRESS',
  'RAW_RECORD',
  'BANK_ACCOUNT',
]);

function concreteKind(
  kind: Exclude<SensitiveKind, 'SOURCE_KEY' | 'EVIDENCE' | 'FREE_TEXT'>,
  parent: unknown,
): ConcreteKind {
  if (kind !== 'CONTACT_POINT') return kind;
  const cpKind = (parent as { kind?: string } | null)?.kind;
  // A network exclusion's key may be a bank account (src/services/network-exclusion.service.ts).
  return cpKind === 'EMAIL'
    ? 'EMAIL'
    : cpKind === 'ADDRESS'
      ? 'ADDRESS'
      : cpKind === 'BANK_ACCOUNT'
        ? 'BANK_ACCOUNT'
        : 'PHONE';
}

/**
 * Decides one sensitive field's value for a viewer: returns what the viewer gets and, for the access audit,
 * the graded kinds it was shown unmasked. Every `@sensitive` field goes through here.
 */
export function protect(
  viewer: Viewer,
  declared: SensitiveKind,
  parent: unknown,
  value: unknown,
): { value: unknown; unmasked: ConcreteKind[] } {
  if (value === null || value === undefined) return { value, unmasked: [] };
  if (declared === 'SOURCE_KEY' || declared === 'EVIDENCE' || declared === 'FREE_TEXT') {
    const shown = new Set<ConcreteKind>();
    const mayShow = (kind: EmbeddedKind) => {
      const ok = maySee(viewer, kind);
      if (ok) shown.add(kind);
      return ok;
    };
    const text = String(value);
    const apply = (show: (kind: EmbeddedKind) => boolean): unknown =>
      declared === 'SOURCE_KEY'
        ? protectSourceKey(text, show)
        : declared === 'EVIDENCE'
          ? // Evidence is a JSON object (the JSONObject scalar); a JSON text is masked as text and stays text.
            typeof value === 'object'
            ? protectEvidence(value as Record<string, unknown>, show)
            : protectEvidence(text, show)
          : protectText(text, show);
    const out = apply(mayShow);
    // Audited only when the viewer saw more than the masked form, and then the kinds it was allowed to see.
    const sameAsMasked = JSON.stringify(out) === JSON.stringify(apply(() => false));
    const unmasked = sameAsMasked ? [] : [...shown].filter((k) => auditedKinds.has(k));
    return { value: out, unmasked };
  }
  const kind = concreteKind(declared, parent);
  if (!maySee(viewer, kind)) return { value: masked(kind, value), unmasked: [] };
  return { value, unmasked: auditedKinds.has(kind) ? [kind] : [] };
}

export function maySee(viewer: Viewer, kind: ConcreteKind): boolean {
  return viewer.roles.some((r) => unmaskedFor[r].includes(kind));
}

export function masked(kind: ConcreteKind, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (kind) {
    case 'RAW_RECORD':
    case 'RISK_DETAIL':
      return null;
    case 'BIRTH_DATE':
      return null; // a partially masked date would not be a valid Date
    case 'ID_NUMBER':
      return maskValue('ID_NUMBER', String(value));
    case 'PHONE':
      return maskValue('PHONE', String(value));
    case 'EMAIL':
      return maskValue('EMAIL', String(value));
    case 'NAME':
      return maskValue('NAME', String(value));
    case 'ADDRESS':
      return maskValue('ADDRESS', String(value));
    case 'BANK_ACCOUNT':
      return maskValue('BANK_ACCOUNT', String(value));
  }
}

/** Operation-level permissions. */
export const operationRoles = {
  readCustomers: ['CHANNEL_APP', 'UNDERWRITER', 'RISK_ADMIN', 'DATA_STEWARD', 'INTEGRATION_ADMIN'],
  readQuarantine: ['INTEGRATION_ADMIN', 'DATA_STEWARD'],
  steward: ['DATA_STEWARD'],
  readRisk: ['UNDERWRITER', 'RISK_ADMIN'],
  proposeBlacklist: ['UNDERWRITER', 'RISK_ADMIN'],
  approveBlacklist: ['RISK_ADMIN'],
  readAudit: ['COMPLIANCE'],
  // The customer programme's thresholds and segment definitions.
  configureProgramme: ['DATA_STEWARD', 'RISK_ADMIN'],
  // The agent register (branches, departures), fed from the agency's HR system.
  recordAgents: ['DATA_STEWARD', 'INTEGRATION_ADMIN'],
} as const satisfies Record<string, readonly Role[]>;
export type Operation = keyof typeof operationRoles;

export function mayDo(viewer: Viewer, operation: Operation): boolean {
  return viewer.roles.some((r) => (operationRoles[operation] as readonly Role[]).includes(r));
}
