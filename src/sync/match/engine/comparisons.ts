import { jaroWinkler } from '@skyra/jaro-winkler';
import { distance } from 'fastest-levenshtein';
import type { MatchRecord } from './match-record.ts';

/**
 * Comparisons for Fellegi-Sunter scoring: each turns a pair's attribute into one of a few ordered levels
 * (level 0 = strongest agreement, last = disagreement) or null when either side is missing (no evidence either
 * way). Levels are chosen per attribute: string similarity for names and addresses, date tolerance for birth
 * dates (typos, day/month swaps), edit distance for numbers.
 */
export type Comparison = {
  name: string;
  levels: readonly string[];
  /** Level index, or null when the attribute is missing on either side. */
  compare(a: MatchRecord, b: MatchRecord): number | null;
  /** Value whose frequency adjusts the weight of an exact agreement (term-frequency adjustment). */
  tfValue?(r: MatchRecord): string | null;
};

const jw = (a: string, b: string) => jaroWinkler(a, b);

function nameLevels(
  get: (r: MatchRecord) => string | null,
  other: (r: MatchRecord) => string | null,
  sound: (r: MatchRecord) => string | null,
): Comparison['compare'] {
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === null || y === null) return null;
    if (x === y) return 0;
    const s = jw(x, y);
    if (s >= 0.92) return 1;
    // Homophones (秀英 / 秀瑛) and pinyin-only spellings (xiaoming / 小明).
    const px = sound(a);
    if (px !== null && px === sound(b)) return 2;
    // Given and family name swapped between sources.
    const ox = other(a);
    if (ox !== null && ox === y) return 3;
    if (s >= 0.8) return 4;
    return 5;
  };
}

export const defaultComparisons: readonly Comparison[] = [
  {
    name: 'givenName',
    levels: [
      'exact',
      'jaro-winkler ≥ 0.92',
      'same pinyin',
      'swapped with family name',
      'jaro-winkler ≥ 0.80',
      'different',
    ],
    compare: nameLevels(
      (r) => r.givenName,
      (r) => r.familyName,
      (r) => r.givenPinyin,
    ),
    tfValue: (r) => r.givenName,
  },
  {
    name: 'familyName',
    levels: [
      'exact',
      'jaro-winkler ≥ 0.92',
      'same pinyin',
      'swapped with given name',
      'jaro-winkler ≥ 0.80',
      'different',
    ],
    compare: nameLevels(
      (r) => r.familyName,
      (r) => r.givenName,
      (r) => r.familyPinyin,
    ),
    tfValue: (r) => r.familyName,
  },
  {
    // Only for records that do not split the name (both sides lack given/family).
    name: 'fullName',
    levels: ['exact', 'jaro-winkler ≥ 0.92', 'same pinyin', 'jaro-winkler ≥ 0.80', 'different'],
    compare: (a, b) => {
      if (a.givenName !== null || b.givenName !== null || a.familyName !== null || b.familyName !== null) return null;
      if (a.fullName === null || b.fullName === null) return null;
      if (a.fullName === b.fullName) return 0;
      const s = jw(a.fullName, b.fullName);
      if (s >= 0.92) return 1;
      if (a.fullPinyin !== null && a.fullPinyin === b.fullPinyin) return 2;
      return s >= 0.8 ? 3 : 4;
    },
    tfValue: (r) => r.fullName,
  },
  {
    name: 'birthDate',
    levels: [
      'exact',
      'one character different',
      'day and month swapped',
      'two characters different',
      'same year',
      'different',
    ],
    compare: (a, b) => {
      const x = a.birthDate;
      const y = b.birthDate;
      if (x === null || y === null) return null;
      if (x === y) return 0;
      if (distance(x, y) <= 1) return 1;
      if (x.slice(0, 4) === y.slice(0, 4) && x.slice(5, 7) === y.slice(8, 10) && x.slice(8, 10) === y.slice(5, 7))
        return 2;
      if (distance(x, y) <= 2) return 3;
      if (x.slice(0, 4) === y.slice(0, 4)) return 4;
      return 5;
    },
  },
  {
    name: 'sex',
    levels: ['same', 'different'],
    compare: (a, b) => (a.sex === null || b.sex === null ? null : a.sex === b.sex ? 0 : 1),
  },
  {
    name: 'idNumber',
    levels: ['exact', 'one edit', 'different'],
    compare: (a, b) => {
      if (a.idNumber === null || b.idNumber === null) return null;
      if (a.idNumber === b.idNumber) return 0;
      return distance(a.idNumber, b.idNumber) <= 1 ? 1 : 2;
    },
  },
  {
    name: 'phone',
    levels: ['exact', 'different'],
    compare: (a, b) => (a.phone === null || b.phone === null ? null : a.phone === b.phone ? 0 : 1),
    tfValue: (r) => r.phone,
  },
  {
    name: 'email',
    levels: ['exact', 'same mailbox name', 'similar', 'different'],
    compare: (a, b) => {
      if (a.email === null || b.email === null) return null;
      if (a.email === b.email) return 0;
      const la = a.email.split('@')[0] ?? '';
      const lb = b.email.split('@')[0] ?? '';
      if (la === lb) return 1;
      return jw(a.email, b.email) >= 0.88 ? 2 : 3;
    },
  },
  {
    name: 'addressLine',
    levels: ['exact', 'jaro-winkler ≥ 0.90', 'jaro-winkler ≥ 0.75', 'different'],
    compare: (a, b) => {
      if (a.addressLine === null || b.addressLine === null) return null;
      if (a.addressLine === b.addressLine) return 0;
      const s = jw(a.addressLine, b.addressLine);
      return s >= 0.9 ? 1 : s >= 0.75 ? 2 : 3;
    },
  },
  {
    name: 'city',
    levels: ['exact', 'jaro-winkler ≥ 0.90', 'different'],
    compare: (a, b) => {
      if (a.city === null || b.city === null) return null;
      if (a.city === b.city) return 0;
      return jw(a.city, b.city) >= 0.9 ? 1 : 2;
    },
    tfValue: (r) => r.city,
  },
  {
    name: 'postcode',
    levels: ['exact', 'one edit', 'different'],
    compare: (a, b) => {
      if (a.postcode === null || b.postcode === null) return null;
      if (a.postcode === b.postcode) return 0;
      return distance(a.postcode, b.postcode) <= 1 ? 1 : 2;
    },
  },
  {
    name: 'province',
    levels: ['same', 'different'],
    compare: (a, b) => (a.province === null || b.province === null ? null : a.province === b.province ? 0 : 1),
  },
];
