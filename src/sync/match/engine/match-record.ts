import {
  cityKey,
  nameKey,
  namePinyins,
  normalizeAddress,
  normalizeEmail,
  normalizeIdDocument,
  normalizePhone,
  parseLooseDate,
  cleanText,
} from '../../../domain/normalize/index.ts';

/**
 * What the matching engine compares: one source record reduced to normalised, comparable fields. Invalid
 * identifiers are dropped here (kept on the source record with their issues), so they can never be evidence.
 */
export type MatchRecord = {
  /** Index in the engine's record array. */
  index: number;
  /** PERSON or ORGANISATION when known (never matched across kinds). */
  kind?: 'PERSON' | 'ORGANISATION';
  source: string;
  recordId: string;
  givenName: string | null;
  familyName: string | null;
  /** Full-name key for sources that do not split names. */
  fullName: string | null;
  /** Toneless pinyin of the names, for homophones and pinyin-only spellings (candidates and a weak level). */
  givenPinyin: string | null;
  familyPinyin: string | null;
  fullPinyin: string | null;
  birthDate: string | null;
  sex: 'M' | 'F' | null;
  idNumber: string | null;
  phone: string | null;
  email: string | null;
  addressLine: string | null;
  city: string | null;
  postcode: string | null;
  province: string | null;
};

/** Canonical attribute names accepted in match-file mappings. */
export const canonicalAttributes = [
  'fullName',
  'givenName',
  'familyName',
  'birthDate',
  'sex',
  'idNumber',
  'idType',
  'phone',
  'email',
  'addressLine',
  'city',
  'postcode',
  'province',
] as const;
export type CanonicalAttribute = (typeof canonicalAttributes)[number];

const lowerKey = (v: string | null): string | null => {
  const c = cleanText(v);
  return c === null ? null : c.toLowerCase().replace(/\s+/g, ' ');
};

/**
 * Street-level markers: an address with none of them and no digit names only a place (a city, a district — an
 * agent's lead holds just `杭州`). Such a line is not an address line: equal between everyone in that city, it was
 * scored as strong address agreement and merged strangers (most of the false merges at population scale).
 */
const streetLevel = /[0-9路街道巷弄号號村组組楼樓室栋棟座幢单單元里胡同厦廈园園苑小区區域镇鎮乡鄉]/;
const maxPlaceLength = 12;

/** Address line and city for the match record: a place-only address counts as its city, not as an address line. */
export function addressFeatures(
  addressLine: string | null,
  city: string | null,
): { addressLine: string | null; city: string | null } {
  const parsed = normalizeAddress(addressLine);
  const givenCity = cityKey(city);
  const key = parsed.key;
  if (key !== null && key.length <= maxPlaceLength && !streetLevel.test(key.replace(/(区|區)$/, ''))) {
    // A bare place: its city when it names one (`浙江省杭州市` → 杭州, `杭州` → 杭州); a province alone is no city.
    const place = parsed.city ?? (parsed.province === null ? cityKey(addressLine) : null);
    return { addressLine: null, city: givenCity ?? place };
  }
  return { addressLine: key, city: givenCity ?? parsed.city };
}

/** Builds a match record from flat attribute values (as read from a CSV mapping or a canonical party). */
export function toMatchRecord(
  index: number,
  source: string,
  recordId: string,
  a: Partial<Record<CanonicalAttribute, string | null>>,
): MatchRecord {
  const idType = cleanText(a.idType ?? null);
  let idNumber: string | null = null;
  const rawId = cleanText(a.idNumber ?? null);
  if (rawId !== null) {
    // Without a type, an 15/18-character number is read as a resident id; anything else as an opaque number.
    const looksResident = /^\d{15}$|^\d{17}[\dXx]$/.test(rawId);
    const id = normalizeIdDocument(idType ?? (looksResident ? '01' : '99'), rawId);
    idNumber =
      id.valid || (!looksResident && idType === null && id.value !== null && /^[A-Z0-9]{4,}$/.test(id.value))
        ? id.value
        : null;
  }
  const phone = a.phone ? normalizePhone(a.phone) : null;
  const email = a.email ? normalizeEmail(a.email) : null;
  const sex = cleanText(a.sex ?? null)?.toUpperCase();
  const givenName = nameKey(a.givenName ?? null);
  const familyName = nameKey(a.familyName ?? null);
  const fullName =
    nameKey(a.fullName ?? null) ??
    (a.givenName || a.familyName ? nameKey(`${a.familyName ?? ''}${a.givenName ?? ''}`) : null);
  const sounds = namePinyins(familyName, givenName, fullName);
  const address = addressFeatures(a.addressLine ?? null, a.city ?? null);
  return {
    index,
    source,
    recordId,
    givenName,
    familyName,
    fullName,
    givenPinyin: sounds.given,
    familyPinyin: sounds.family,
    fullPinyin: sounds.full,
    birthDate: parseLooseDate(a.birthDate ?? null),
    sex: sex === 'M' || sex === 'F' ? sex : null,
    idNumber,
    phone: phone?.valid ? phone.searchKey : null,
    email: email?.valid ? email.value : null,
    addressLine: address.addressLine,
    city: address.city,
    postcode: cleanText(a.postcode ?? null)?.replace(/\s/g, '') ?? null,
    province: lowerKey(a.province ?? null),
  };
}
