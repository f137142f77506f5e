import { maskValue } from '../domain/normalize/index.ts';

/**
 * Personal values inside values that are not themselves a personal field: source keys built from an identity
 * document or a mobile (`RESIDENT_ID:110105198503071230`, `MOBILE:13800138000`), alert evidence naming shared
 * phones, addresses and bank accounts, and text the hub wrote (history details, quarantine reasons, audit
 * details) that echoes source values. Each is masked like the field that would hold the value
 * (src/auth/access-policy.ts decides for whom).
 */
export type EmbeddedKind = 'ID_NUMBER' | 'PHONE' | 'EMAIL' | 'ADDRESS' | 'BANK_ACCOUNT';
type MayShow = (kind: EmbeddedKind) => boolean;

const documentPrefixes = [
  'RESIDENT_ID',
  'HOUSEHOLD_REGISTER',
  'PASSPORT',
  'MILITARY_ID',
  'HK_MACAO_PERMIT',
  'TAIWAN_PERMIT',
  'USCC',
  'OTHER',
];
const sourceKeyPattern = new RegExp(`\\b(${[...documentPrefixes, 'MOBILE'].join('|')}):([0-9A-Za-z]+)`, 'g');

/** The personal kind a source key carries, or null for keys that are the source's own numbers. */
export function sourceKeyKind(key: string): EmbeddedKind | null {
  const prefix = key.slice(0, key.indexOf(':'));
  if (prefix === 'MOBILE') return 'PHONE';
  return documentPrefixes.includes(prefix) ? 'ID_NUMBER' : null;
}

const maskKey = (prefix: string, value: string): string =>
  `${prefix}:${maskValue(prefix === 'MOBILE' ? 'PHONE' : 'ID_NUMBER', value)}`;

/** A source key, masked like the value it carries unless that kind may be shown. */
export function protectSourceKey(key: string, mayShow: MayShow): string {
  const kind = sourceKeyKind(key);
  if (kind === null || mayShow(kind)) return key;
  return maskKey(key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1));
}

const evidenceKinds: Record<string, EmbeddedKind> = {
  phones: 'PHONE',
  addresses: 'ADDRESS',
  bankAccounts: 'BANK_ACCOUNT',
};

/** Alert evidence (JSON): the shared values it lists are masked per kind; everything else is counts and ids. */
export function protectEvidence(evidence: string, mayShow: MayShow): string;
export function protectEvidence(evidence: Record<string, unknown>, mayShow: MayShow): Record<string, unknown>;
export function protectEvidence(
  evidence: string | Record<string, unknown>,
  mayShow: MayShow,
): string | Record<string, unknown> {
  if (typeof evidence !== 'string') return protectEvidenceObject(evidence, mayShow);
  let doc: unknown;
  try {
    doc = JSON.parse(evidence);
  } catch {
    return protectText(evidence, mayShow);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return protectText(evidence, mayShow);
  return JSON.stringify(protectEvidenceObject(doc as Record<string, unknown>, mayShow));
}

/**
 * Evidence as a JSON object (the `JSONObject` scalar): the keys of the listed phones, addresses and accounts
 * masked per kind, then every string (and long number) inside masked as free text — the same result as masking
 * the evidence's JSON text, without leaving JSON.
 */
function protectEvidenceObject(doc: Record<string, unknown>, mayShow: MayShow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const kind = evidenceKinds[k];
    out[k] =
      kind && !mayShow(kind) && Array.isArray(v)
        ? v.map((item) =>
            item && typeof item === 'object' && 'key' in item
              ? { ...item, key: maskValue(kind, String((item as { key: unknown }).key)) }
              : item,
          )
        : v;
  }
  return protectLeaves(out, mayShow) as Record<string, unknown>;
}

function protectLeaves(value: unknown, mayShow: MayShow): unknown {
  if (typeof value === 'string') return protectText(value, mayShow);
  if (typeof value === 'number') {
    const text = String(value);
    const shown = protectText(text, mayShow);
    return shown === text ? value : shown;
  }
  if (Array.isArray(value)) return value.map((v) => protectLeaves(v, mayShow));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [protectText(k, mayShow), protectLeaves(v, mayShow)]),
    );
  return value;
}

/**
 * Free text the hub wrote: source keys are masked by their prefix; e-mail addresses as e-mails; any other run
 * of 7 or more digits (a phone, an id number, an account echoed in a reason) as an id number would be, unless
 * the viewer may see phones, ids and accounts alike.
 */
export function protectText(text: string, mayShow: MayShow): string {
  let out = text.replace(sourceKeyPattern, (m, prefix: string, value: string) =>
    mayShow(prefix === 'MOBILE' ? 'PHONE' : 'ID_NUMBER') ? m : maskKey(prefix, value),
  );
  if (!mayShow('EMAIL')) out = out.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, (m) => maskValue('EMAIL', m) ?? m);
  if (!(mayShow('PHONE') && mayShow('ID_NUMBER') && mayShow('BANK_ACCOUNT')))
    out = out.replace(/(?<![\w*])\+?\d[\d -]{5,}\d[\dXx]?(?![\w*])/g, (m) =>
      m.replace(/\D/g, '').length >= 7 ? (maskValue('ID_NUMBER', m.replace(/[ -]/g, '')) ?? m) : m,
    );
  return out;
}
