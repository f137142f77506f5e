import * as OpenCC from 'opencc-js/t2cn';
import { pinyin } from 'pinyin-pro';
import { cleanText } from './text.ts';

/**
 * Names. The same person appears in simplified and traditional characters, with full-width characters or
 * spaces, or in pinyin. The name key (simplified, spaceless, lower-case) is what search and matching compare;
 * the display form keeps what the source wrote (trimmed).
 *
 * Conversion is OpenCC `hk` → `cn`: it converts standard traditional characters exactly as `t` → `cn` does and
 * also the Hong Kong variants (衞 → 卫, 粧 → 妆, 衹 → 只) that `t` leaves alone. `tw` → `cn` is not used: it
 * rewrites characters that are already simplified (么 → 幺, 著 → 着), which would change mainland names.
 */
const toSimplified = OpenCC.Converter({ from: 'hk', to: 'cn' });

// Compound surnames (复姓) that must not be split after their first character.
const compoundSurnames = new Set([
  '欧阳',
  '司马',
  '上官',
  '诸葛',
  '东方',
  '皇甫',
  '尉迟',
  '公孙',
  '慕容',
  '令狐',
  '长孙',
  '宇文',
  '司徒',
  '夏侯',
  '端木',
  '轩辕',
  '独孤',
  '南宫',
  '西门',
  '澹台',
  '公冶',
  '宗政',
  '濮阳',
  '淳于',
  '单于',
  '太叔',
  '申屠',
  '仲孙',
  '万俟',
  '闻人',
  '赫连',
  '呼延',
  '百里',
  '东郭',
  '钟离',
  '拓跋',
  '司空',
  '司寇',
  '左丘',
  '第五',
]);

const han = /\p{Script=Han}/u;
const latin = /[A-Za-z]/;

/**
 * Names repeat a lot (王伟, 张敏…), and conversion and pinyin are the costly part of normalising a record: results
 * are memoised, up to a bound, so bulk matching converts each distinct name once.
 */
function memo<T>(fn: (s: string) => T, max = 200_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s) => {
    const hit = cache.get(s);
    if (hit !== undefined || cache.has(s)) return hit as T;
    const v = fn(s);
    if (cache.size >= max) cache.clear();
    cache.set(s, v);
    return v;
  };
}

/** Separators that are not part of a name: spaces, the middle dots of transliterated names (· ・ ‧ • ∙ ⋅), hyphens, commas. */
const separators = /[\s·・‧•∙⋅.\-_,，、'’]/g;

const keyOf = memo((cleaned: string): string | null => {
  const key = toSimplified(cleaned)
    .toLowerCase()
    // Pinyin with tone marks or ü (Wáng, Lǚ) keys like its plain spelling; ü is written v (lv), as input methods do.
    .normalize('NFD')
    .replace(/u\u0308/g, 'v')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .replace(separators, '');
  return key === '' ? null : key;
});

/**
 * Simplified, spaceless (also without the middle dot of transliterated names), lower-case key; pinyin without
 * tone marks; null if empty.
 */
export function nameKey(raw: string | null | undefined): string | null {
  const cleaned = cleanText(raw);
  return cleaned === null ? null : keyOf(cleaned);
}

export type PersonName = {
  full: string | null;
  family: string | null;
  given: string | null;
  key: string | null;
  script: 'HAN' | 'LATIN' | 'MIXED' | null;
  issues: string[];
};

export function normalizePersonName(input: {
  family?: string | null;
  given?: string | null;
  full?: string | null;
}): PersonName {
  const family = cleanText(input.family);
  const given = cleanText(input.given);
  let full = cleanText(input.full);
  const issues: string[] = [];
  let f = family;
  let g = given;
  if (full === null && (family !== null || given !== null)) {
    const hanName = han.test(`${family ?? ''}${given ?? ''}`);
    // Chinese order family+given without a space; pinyin written "Given Family"? Sources write "WANG XIAOMING": keep family first.
    full = hanName ? `${family ?? ''}${given ?? ''}` : [family, given].filter(Boolean).join(' ');
  }
  const dotted = full === null ? [] : full.split(/\s*[·・‧•∙⋅]\s*/).filter(Boolean);
  if (full !== null && f === null && g === null && dotted.length > 1) {
    // Transliterated names (约翰·史密斯) and Uyghur names (阿依古丽·买买提): given name(s) · family or father's name.
    f = dotted[dotted.length - 1] ?? null;
    g = dotted.slice(0, -1).join('·');
  } else if (full !== null && f === null && g === null && han.test(full) && !latin.test(full)) {
    const chars = [...full.replace(/\s/g, '')]; // code points: rare surnames can lie outside the BMP
    const surnameLength = chars.length > 2 && compoundSurnames.has(toSimplified(chars.slice(0, 2).join(''))) ? 2 : 1;
    f = chars.slice(0, surnameLength).join('');
    g = chars.slice(surnameLength).join('') || null;
  }
  if (full === null) issues.push('EMPTY');
  const text = full ?? '';
  const script = full === null ? null : han.test(text) && latin.test(text) ? 'MIXED' : han.test(text) ? 'HAN' : 'LATIN';
  if (script === 'LATIN') issues.push('PINYIN_OR_LATIN_ONLY');
  return { full, family: f, given: g, key: nameKey(full), script, issues };
}

/**
 * Company names: the key drops legal-form words and bracketed parts (full- or half-width brackets; NFKC has
 * already folded （） to ()) so "XX有限公司", "XX(中国)有限公司" and "XX股份有限公司" meet. A branch keeps its
 * branch suffix ("XX有限公司北京分公司" → "xx北京分公司"): a branch is not its head office.
 */
const legalForms = /(股份有限公司|有限责任公司|有限公司|股份公司)/g;

export function normalizeCompanyName(raw: string | null | undefined): { full: string | null; key: string | null } {
  const full = cleanText(raw);
  if (full === null) return { full: null, key: null };
  const simplified = toSimplified(full);
  const stripped = simplified
    .replace(/[(\[【][^)\]】]*[)\]】]/g, '')
    .replace(legalForms, '')
    .replace(/(?<!分)(集团公司|公司)$/, '')
    .replace(/[\s,.]*(co\.?,?\s*ltd\.?|company\s+limited|limited|ltd\.?|inc\.?|corp\.?|corporation)$/i, '');
  return { full, key: nameKey(stripped) ?? nameKey(simplified) };
}

/**
 * Toneless pinyin of a name key (`王小明` → `wangxiaoming`; a Latin key is returned as is), so that homophones
 * (秀英 / 秀瑛) and pinyin-only spellings (WANG XIAOMING) meet. Pinyin merges different people who sound alike:
 * it finds candidates and adds a weak agreement level, never confirms a match alone.
 */
/** Pinyin of family, given and full name in one conversion (family + given = full for split Han names). */
export function namePinyins(
  family: string | null,
  given: string | null,
  full: string | null,
): { family: string | null; given: string | null; full: string | null } {
  const han = (s: string | null) => s !== null && /\p{Script=Han}/u.test(s);
  if (
    full !== null &&
    han(full) &&
    family !== null &&
    given !== null &&
    full === `${family}${given}` &&
    [...full].length === full.length
  ) {
    const syllables = syllablesOf(full);
    return {
      family: syllables.slice(0, family.length).join(''),
      given: syllables.slice(family.length).join(''),
      full: syllables.join(''),
    };
  }
  return {
    family: namePinyin(family, { surname: true }),
    given: namePinyin(given),
    full: namePinyin(full, { surname: true }),
  };
}

const pinyinOf = memo((key: string) =>
  pinyin(key, { toneType: 'none', separator: '', surname: 'off', nonZh: 'consecutive' }).toLowerCase(),
);
const surnamePinyinOf = memo((key: string) =>
  pinyin(key, { toneType: 'none', separator: '', surname: 'head', nonZh: 'consecutive' }).toLowerCase(),
);
const syllablesOf = memo((full: string) =>
  pinyin(full, { toneType: 'none', type: 'array', surname: 'head', nonZh: 'consecutive' }).map((s) => s.toLowerCase()),
);

export function namePinyin(key: string | null, opts: { surname?: boolean } = {}): string | null {
  if (key === null) return null;
  if (!/\p{Script=Han}/u.test(key)) return key;
  return opts.surname ? surnamePinyinOf(key) : pinyinOf(key);
}
