import { executeBound } from '../db/bound-sql.ts';
import { bankAccountSql } from './activity-fields.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { nameKey, namePinyin, normalizeIdDocument, phoneSearchKey } from '../domain/normalize/index.ts';
import { chunked, marks, uniqueIds } from '../db/sql-sets.ts';

/**
 * Screening of golden customers against the blacklists. Every active entry's identifiers are stored as hashed
 * keys (blacklist_key), and a customer is screened by looking up its own keys — the cost depends on the
 * customer's few keys, not on the size of the lists. A set of customers (everyone a batch changed) is screened
 * at once, with a constant number of statements rather than a handful per customer; screening one customer is
 * the same code with a set of one. Rules:
 *   - id number, credit code or bank account equal after normalisation → hit (score 1.0); phone → 0.8;
 *   - name equal after simplified/traditional folding, or equal in pinyin (candidate only) → a hit only when
 *     confirmed by the birth date where the entry has one; sanctions lists always require that confirmation;
 *   - a customer on the ALLOW list (known false positive) by a strong identifier has other hits dismissed.
 * A dismissed hit stays dismissed until the entry or the customer changes (versions are compared).
 */
export type EntryIdentifiers = {
  idNumber: string | null;
  fullName: string | null;
  birthDate: string | null;
  phone: string | null;
  bankAccount: string | null;
  creditCode: string | null;
};
export type NormalisedEntry = {
  idNumber: string | null;
  nameKey: string | null;
  namePinyin: string | null;
  birthDate: string | null;
  phoneKey: string | null;
  bankAccount: string | null;
  creditCode: string | null;
};

export function normaliseEntry(e: EntryIdentifiers): NormalisedEntry {
  // Digit strings of resident-id length are read as resident ids (so a 17-digit typo is invalid, not "other").
  const id = e.idNumber
    ? normalizeIdDocument(/^\d{14,17}[\dXx]$/.test(e.idNumber.trim()) ? '01' : '99', e.idNumber)
    : null;
  const uscc = e.creditCode ? normalizeIdDocument('08', e.creditCode) : null;
  const key = nameKey(e.fullName);
  return {
    idNumber: id?.valid ? id.value : null,
    nameKey: key,
    namePinyin: namePinyin(key, { surname: true }),
    birthDate: e.birthDate,
    phoneKey: e.phone ? phoneSearchKey(e.phone) : null,
    bankAccount: e.bankAccount ? e.bankAccount.replace(/\s/g, '') : null,
    creditCode: uscc?.value ?? null,
  };
}

export function entryKeys(n: NormalisedEntry): string[] {
  const keys = [
    n.idNumber && `id:${n.idNumber}`,
    n.creditCode && `id:${n.creditCode}`,
    n.phoneKey && `phone:${n.phoneKey}`,
    n.bankAccount && `acct:${n.bankAccount}`,
    n.nameKey && `name:${n.nameKey}`,
    n.namePinyin && n.namePinyin !== n.nameKey && `py:${n.namePinyin}`,
  ];
  return [...new Set(keys.filter((k): k is string => typeof k === 'string' && k.length > 0))];
}

type PartyFacts = {
  version: number;
  nameKey: string | null;
  birthDate: string | null;
  ids: Set<string>;
  phones: Set<string>;
  accounts: Set<string>;
};

/**
 * The screening facts of a set of customers, ACTIVE ones only (a missing or inactive customer has none): four
 * statements for the whole set — the party rows, then identifiers, phones and bank accounts grouped by customer.
 */
async function partyFactsOf(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, PartyFacts>> {
  const facts = new Map<string, PartyFacts>();
  const parties = await executeBound<
    { id: string; version: number; name_key: string | null; birth_date: string | null; status: string }[]
  >(
    em,
    `select id, version, name_key, to_char(birth_date, 'YYYY-MM-DD') as birth_date, status from party where id in (${marks(partyIds.length)})`,
    [...partyIds],
  );
  for (const p of parties) {
    if (p.status === 'ACTIVE')
      facts.set(p.id, {
        version: p.version,
        nameKey: p.name_key,
        birthDate: p.birth_date,
        ids: new Set(),
        phones: new Set(),
        accounts: new Set(),
      });
  }
  const active = [...facts.keys()];
  if (active.length === 0) return facts;
  const of = (partyId: string) => facts.get(partyId) as PartyFacts;
  const ids = await executeBound<{ party_id: string; value: string }[]>(
    em,
    `select distinct party_id, value from party_identifier where party_id in (${marks(active.length)}) and value is not null`,
    active,
  );
  for (const r of ids) of(r.party_id).ids.add(r.value);
  const phones = await executeBound<{ party_id: string; search_key: string }[]>(
    em,
    `select distinct party_id, search_key from contact_point where party_id in (${marks(active.length)}) and kind in ('MOBILE','LANDLINE') and search_key is not null`,
    active,
  );
  for (const r of phones) of(r.party_id).phones.add(r.search_key);
  // Bank accounts the customer's source records carry on any activity (payments, claims, …).
  const accounts = await executeBound<{ party_id: string; account: string }[]>(
    em,
    `select distinct sr.party_id, ${bankAccountSql('a')} as account
       from source_record sr join activity a on a.party_system = sr.system and a.party_source_id = sr.source_id and not a.deleted
      where sr.party_id in (${marks(active.length)}) and not sr.deleted
        and ${bankAccountSql('a')} is not null`,
    active,
  );
  for (const r of accounts) of(r.party_id).accounts.add(r.account.replace(/\s/g, ''));
  return facts;
}

function partyKeys(f: PartyFacts): string[] {
  const py = namePinyin(f.nameKey, { surname: true });
  return [
    ...[...f.ids].map((v) => `id:${v}`),
    ...[...f.phones].map((v) => `phone:${v}`),
    ...[...f.accounts].map((v) => `acct:${v}`),
    ...(f.nameKey ? [`name:${f.nameKey}`] : []),
    ...(py && py !== f.nameKey ? [`py:${py}`] : []),
  ];
}

type EntryRow = {
  id: string;
  list: string;
  version: number;
  id_number: string | null;
  name_key: string | null;
  name_pinyin: string | null;
  birth_date: string | null;
  phone_key: string | null;
  bank_account: string | null;
  credit_code: string | null;
};

export type Hit = { entryId: string; list: string; entryVersion: number; score: number; matched: string[] };

export function evaluate(f: PartyFacts, e: EntryRow): Hit | null {
  const matched: string[] = [];
  let score = 0;
  const strong: [boolean, string, number][] = [
    [e.id_number !== null && f.ids.has(e.id_number), 'ID_NUMBER', 1],
    [e.credit_code !== null && f.ids.has(e.credit_code), 'CREDIT_CODE', 1],
    [e.bank_account !== null && f.accounts.has(e.bank_account), 'BANK_ACCOUNT', 1],
    [e.phone_key !== null && f.phones.has(e.phone_key), 'PHONE', 0.8],
  ];
  for (const [hit, attribute, weight] of strong) {
    if (!hit) continue;
    matched.push(attribute);
    score = Math.max(score, weight);
  }
  const nameHit =
    e.name_key !== null &&
    f.nameKey !== null &&
    (e.name_key === f.nameKey ||
      (e.name_pinyin !== null && e.name_pinyin === namePinyin(f.nameKey, { surname: true })));
  if (nameHit) {
    const exactName = e.name_key === f.nameKey;
    const birthConfirmed = e.birth_date !== null && e.birth_date === f.birthDate;
    if (birthConfirmed) {
      matched.push(exactName ? 'NAME' : 'NAME_PINYIN', 'BIRTH_DATE');
      score = Math.max(score, exactName ? 0.9 : 0.7);
    } else if (e.birth_date === null && e.list !== 'SANCTIONS' && matched.length > 0) {
      matched.push(exactName ? 'NAME' : 'NAME_PINYIN');
    } else if (
      e.birth_date === null &&
      e.list !== 'SANCTIONS' &&
      exactName &&
      !e.id_number &&
      !e.phone_key &&
      !e.bank_account &&
      !e.credit_code
    ) {
      // A name-only entry (nothing else known to confirm it): a weak hit for a human to look at. When the entry
      // does carry identifiers, a name without any of them is a namesake, not a hit.
      matched.push('NAME');
      score = Math.max(score, 0.5);
    }
  }
  return matched.length > 0 && score > 0
    ? { entryId: e.id, list: e.list, entryVersion: e.version, score, matched }
    : null;
}

/** The kept (not ALLOW-list) hits of one customer, and whether an ALLOW entry dismisses them. */
type Outcome = { keep: Hit[]; allowed: boolean; version: number };

/**
 * (Re)screens a set of golden customers with a constant number of statements per slice of 500: the facts
 * (four), one blacklist lookup for the union of everyone's keys, one delete and one upsert. Returns each
 * customer's kept hits (every id asked for has an entry; a missing or inactive customer's is empty).
 */
export async function screenParties(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, Hit[]>> {
  const result = new Map<string, Hit[]>();
  for (const slice of chunked(uniqueIds(partyIds)))
    for (const [id, hits] of await screenSlice(em, slice)) result.set(id, hits);
  return result;
}

async function screenSlice(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, Hit[]>> {
  const facts = await partyFactsOf(em, partyIds);
  const keysOf = new Map([...facts].map(([id, f]) => [id, partyKeys(f)]));
  const allKeys = [...new Set([...keysOf.values()].flat())];
  // Which key found which entry: an entry is evaluated only against the customers holding one of its keys, as
  // when each customer looked up its own keys (evaluate() is exact; the key only makes it a candidate).
  const found =
    allKeys.length === 0
      ? []
      : await executeBound<(EntryRow & { key: string })[]>(
          em,
          `select q.key, e.id, e.list, e.version, e.id_number, e.name_key, e.name_pinyin, to_char(e.birth_date, 'YYYY-MM-DD') as birth_date, e.phone_key, e.bank_account, e.credit_code
       from (values ${marks(allKeys.length, '(?::text)')}) as q(key) join blacklist_key k on k.key_hash = hashtextextended(q.key, 0) join blacklist_entry e on e.id = k.entry_id
      where e.status = 'ACTIVE' and (e.effective_from is null or e.effective_from <= current_date) and (e.effective_to is null or e.effective_to >= current_date)`,
          allKeys,
        );
  const entriesByKey = new Map<string, EntryRow[]>();
  for (const { key, ...entry } of found) entriesByKey.set(key, [...(entriesByKey.get(key) ?? []), entry]);
  const outcomes = new Map<string, Outcome>();
  for (const [id, f] of facts) {
    const candidates = new Map<string, EntryRow>();
    for (const key of keysOf.get(id) ?? []) for (const e of entriesByKey.get(key) ?? []) candidates.set(e.id, e);
    const hits = [...candidates.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((e) => evaluate(f, e))
      .filter((h): h is Hit => h !== null);
    outcomes.set(id, {
      keep: hits.filter((h) => h.list !== 'ALLOW'),
      allowed: hits.some((h) => h.list === 'ALLOW' && h.score >= 1),
      version: f.version,
    });
  }
  // A customer no longer ACTIVE (merged, deactivated, gone) keeps no open hits; for the others, hits that no
  // longer hold are removed and the kept ones are upserted.
  const gone = partyIds.filter((id) => !facts.has(id));
  const active = [...facts.keys()];
  const kept = [...outcomes].flatMap(([id, o]) => o.keep.map((h) => [id, h.entryId]));
  const conditions = [
    ...(gone.length > 0 ? [`(party_id in (${marks(gone.length)}) and status = 'OPEN')`] : []),
    ...(active.length > 0
      ? [
          `(party_id in (${marks(active.length)})${kept.length > 0 ? ` and (party_id, entry_id) not in (${marks(kept.length, '(?::uuid, ?::uuid)')})` : ''})`,
        ]
      : []),
  ];
  if (conditions.length > 0)
    await executeBound(em, `delete from screening_hit where ${conditions.join(' or ')}`, [
      ...gone,
      ...active,
      ...kept.flat(),
    ]);
  // A dismissal survives only while neither the entry nor the customer has changed since; a customer on the
  // ALLOW list by a strong identifier has its hits dismissed by the system.
  const rows = [...outcomes].flatMap(([id, o]) =>
    o.keep.map((h) => [
      id,
      h.entryId,
      h.score,
      JSON.stringify(h.matched),
      o.allowed ? 'DISMISSED' : 'OPEN',
      o.allowed ? 'system' : null,
      o.allowed ? 'ALLOW_LIST' : null,
      o.allowed ? new Date() : null,
      h.entryVersion,
      o.version,
    ]),
  );
  if (rows.length > 0) {
    await executeBound(
      em,
      `insert into screening_hit (id, party_id, entry_id, score, matched, status, dismissed_by, dismissed_reason, dismissed_at, entry_version, party_version)
       values ${marks(rows.length, '(gen_random_uuid(), ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)')}
       on conflict (party_id, entry_id) do update set score = excluded.score, matched = excluded.matched, updated_at = now(),
         status = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then 'DISMISSED' else excluded.status end,
         dismissed_by = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then screening_hit.dismissed_by else excluded.dismissed_by end,
         dismissed_reason = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then screening_hit.dismissed_reason else excluded.dismissed_reason end,
         entry_version = excluded.entry_version, party_version = excluded.party_version`,
      rows.flat(),
    );
  }
  return new Map(partyIds.map((id) => [id, outcomes.get(id)?.keep ?? []]));
}

/** (Re)screens one golden customer; returns its current kept hits. */
export async function screenParty(em: EntityManager, partyId: string): Promise<Hit[]> {
  return (await screenParties(em, [partyId])).get(partyId.toLowerCase()) ?? [];
}

/** Screens every customer an entry could hit (after approval or change of the entry). */
export async function screenEntry(em: EntityManager, entryId: string): Promise<number> {
  const [e] = await executeBound<EntryRow[]>(
    em,
    `select id, list, version, id_number, name_key, name_pinyin, to_char(birth_date, 'YYYY-MM-DD') as birth_date, phone_key, bank_account, credit_code from blacklist_entry where id = ?`,
    [entryId],
  );
  if (!e) return 0;
  const parties = await executeBound<{ party_id: string }[]>(
    em,
    `select party_id from party_identifier where value in (?, ?)
     union select party_id from contact_point where search_key = ?
     union select id from party where status = 'ACTIVE' and name_key = ?
     union select sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id
       where ?::text is not null and ${bankAccountSql('a')} = ?
     union select party_id from screening_hit where entry_id = ?`,
    [e.id_number, e.credit_code, e.phone_key, e.name_key, e.bank_account, e.bank_account, e.id],
  );
  // Names are found by their simplified key (a traditional-character entry finds the simplified customer);
  // homophones (pinyin) are found when the customer is next screened on change or by \`hub risk rescan\`.
  const ids = new Set(parties.map((p) => p.party_id).filter(Boolean));
  await screenParties(em, [...ids]);
  return ids.size;
}
