/**
 * Text clean-up shared by all normalisers: NFKC folds full-width letters, digits and punctuation to their
 * half-width forms (ＡＢＣ１２３ → ABC123) and the ideographic space to a plain one; CHAR padding is trimmed;
 * invisible characters that copy-paste and Excel exports leave behind (zero-width space/joiners, word joiner,
 * byte-order mark, soft hyphen) are removed, since they make equal values compare unequal.
 */
const invisible = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;

export function cleanText(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const s = raw.normalize('NFKC').replace(invisible, '').replace(/\s+/g, ' ').trim();
  return s === '' ? null : s;
}

/** Values sources use to mean "unknown" (无 = none, 不详 = not known). */
const placeholders = new Set(['N/A', 'NA', 'NULL', 'NONE', '-', '--', '无', '不详', '未知', '暂无', '0']);

export function isPlaceholder(s: string): boolean {
  return placeholders.has(s.toUpperCase());
}
