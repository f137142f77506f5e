import { cleanText } from './text.ts';
import * as OpenCC from 'opencc-js/t2cn';

/**
 * Chinese addresses: full-width folded, traditional → simplified, spaces and punctuation removed for the key;
 * province, city and district read off the administrative suffixes (省 / 自治区, 市 / 州 / 盟, 区 / 县 / 旗),
 * with the four municipalities (北京, 上海, 天津, 重庆) being their own province and city.
 */
const toSimplified = OpenCC.Converter({ from: 't', to: 'cn' });
const municipalities = ['北京', '上海', '天津', '重庆'];

/**
 * An address key that ends at a street number, a lane or an estate (人民路69号, 幸福小区) names a building, not a
 * dwelling: its residents share it without sharing a home. As a PostgreSQL regular expression over the key.
 */
export const buildingLevelAddress = '(号|弄|巷|路|街|道|大厦|小区|花园|公寓|村)$';

export type AddressResult = {
  value: string | null;
  key: string | null;
  province: string | null;
  city: string | null;
  district: string | null;
};

export function normalizeAddress(raw: string | null | undefined): AddressResult {
  const cleaned = cleanText(raw);
  if (cleaned === null) return { value: null, key: null, province: null, city: null, district: null };
  const simplified = toSimplified(cleaned);
  const key = simplified.replace(/[\s,，。.、#\-—()（）]/g, '').toLowerCase();
  let rest = key;
  let province: string | null = null;
  let city: string | null = null;
  const muni = municipalities.find((m) => rest.startsWith(m));
  if (muni) {
    province = muni;
    city = muni;
    rest = rest.slice(muni.length).replace(/^市/, '');
  } else {
    const p = /^(.{2,3}?(省|自治区))/.exec(rest);
    if (p?.[1]) {
      province = p[1].replace(/(省|自治区)$/, '');
      rest = rest.slice(p[1].length);
    }
    const c = /^(.{2,4}?(市|自治州|州|盟))/.exec(rest);
    if (c?.[1]) {
      city = c[1].replace(/(市|自治州|州|盟)$/, '');
      rest = rest.slice(c[1].length);
    }
  }
  const d = /^(.{1,4}?(区|县|旗))/.exec(rest);
  return { value: cleaned, key, province, city, district: d?.[1] ?? null };
}

/** City names as sources write them (`上海`, `上海市`, `Shanghai` is left as is): the key compares them. */
export function cityKey(raw: string | null | undefined): string | null {
  const cleaned = cleanText(raw);
  if (cleaned === null) return null;
  return (
    toSimplified(cleaned)
      .replace(/\s/g, '')
      .replace(/(市|省)$/, '')
      .toLowerCase() || null
  );
}
