import { cleanText, isPlaceholder } from './text.ts';

/** Emails: trimmed, lower-cased (mailbox case is ignored by every mainstream provider), structurally checked. */
export function normalizeEmail(raw: string | null | undefined): {
  value: string | null;
  valid: boolean;
  issues: string[];
} {
  const cleaned = cleanText(raw);
  if (cleaned === null) return { value: null, valid: false, issues: ['EMPTY'] };
  if (isPlaceholder(cleaned)) return { value: null, valid: false, issues: ['PLACEHOLDER'] };
  const value = cleaned.replace(/\s/g, '').toLowerCase();
  const valid = /^[^@\s]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(value);
  return { value, valid, issues: valid ? [] : ['BAD_FORMAT'] };
}
