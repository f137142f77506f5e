import type { EntityManager } from '@mikro-orm/postgresql';
import { nameKey, namePinyin, normalizeIdDocument, phoneSearchKey } from '../sync/normalize/index.ts';

/**
 * Screening of golden customers against the blacklists. Every active entry's identifiers are stored as hashed
 * keys (blacklist_key), and a customer is screened by looking up its own keys — the cost depends on the
 * customer's few keys, not on the size of the lists. Rules:
 *   - id number, credit code or bank account equal after normalisation → hit (score 1.0); phone → 0.8;
 *   - name equal after simplified/traditional folding, or equal in pinyin (candidate only) → a hit only when
 *     confirmed by the birth date where the entry has one; sanctions lists always require that confirmation;
 *   - a customer on the ALLOW list (known false positive) by a strong identifier has other hits dismissed.
 * A dismissed hit stays dismissed until the entry or the customer changes (versions are compared).
 */
export type EntryIdentifiers = { idNumber: string | null; fullName: string | null; birthDate: string | null; phone: string | null; bankAccount: string | null; creditCode: string | null };
export type NormalisedEntry = { idNumber: string | null; nameKey: string | null; namePinyin: string | null; birthDate: string | null; phoneKey: string | null; bankAccount: string | null; creditCode: string | null };

export function normaliseEntry(e: EntryIdentifiers): NormalisedEntry {
  // Digit strings of resident-id length are read as resident ids (so a 17-digit typo is invalid, not "other").
  const id = e.idNumber ? normalizeIdDocument(/^\d{14,17}[\dXx]$/.test(e.idNumber.trim()) ? '01' : '99', e.idNumber) : null;
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

type PartyFacts = { version: number; nameKey: string | null; birthDate: string | null; ids: Set<string>; phones: Set<string>; accounts: Set<string> };

async function partyFacts(em: EntityManager, partyId: string): Promise<PartyFacts | null> {
  const [p] = await em.execute<{ version: number; name_key: string | null; birth_date: string | null; status: string }[]>(
    `select version, name_key, to_char(birth_date, 'YYYY-MM-DD') as birth_date, status from party where id = ?`,
    [partyId],
  );
  if (!p || p.status !== 'ACTIVE') return null;
  const ids = await em.execute<{ value: string }[]>(`select distinct value from party_identifier where party_id = ? and value is not null`, [partyId]);
  const phones = await em.execute<{ search_key: string }[]>(`select distinct search_key from contact_point where party_id = ? and kind in ('MOBILE','LANDLINE') and search_key is not null`, [partyId]);
  const accounts = await em.execute<{ account: string }[]>(
    `select distinct coalesce(a.data->>'bankAccount', a.data->>'payeeBankAccount', a.data->>'payingAccount') as account from activity a
      where not a.deleted and (a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = ? and not deleted)
        and coalesce(a.data->>'bankAccount', a.data->>'payeeBankAccount', a.data->>'payingAccount') is not null`,
    [partyId],
  );
  return { version: p.version, nameKey: p.name_key, birthDate: p.birth_date, ids: new Set(ids.map((r) => r.value)), phones: new Set(phones.map((r) => r.search_key)), accounts: new Set(accounts.map((r) => r.account.replace(/\s/g, ''))) };
}

function partyKeys(f: PartyFacts): string[] {
  const py = namePinyin(f.nameKey, { surname: true });
  return [...[...f.ids].map((v) => `id:${v}`), ...[...f.phones].map((v) => `phone:${v}`), ...[...f.accounts].map((v) => `acct:${v}`), ...(f.nameKey ? [`name:${f.nameKey}`] : []), ...(py && py !== f.nameKey ? [`py:${py}`] : [])];
}

type EntryRow = { id: string; list: string; version: number; id_number: string | null; name_key: string | null; name_pinyin: string | null; birth_date: string | null; phone_key: string | null; bank_account: string | null; credit_code: string | null };

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
  const nameHit = e.name_key !== null && f.nameKey !== null && (e.name_key === f.nameKey || (e.name_pinyin !== null && e.name_pinyin === namePinyin(f.nameKey, { surname: true })));
  if (nameHit) {
    const exactName = e.name_key === f.nameKey;
    const birthConfirmed = e.birth_date !== null && e.birth_date === f.birthDate;
    if (birthConfirmed) {
      matched.push(exactName ? 'NAME' : 'NAME_PINYIN', 'BIRTH_DATE');
      score = Math.max(score, exactName ? 0.9 : 0.7);
    } else if (e.birth_date === null && e.list !== 'SANCTIONS' && matched.length > 0) {
      matched.push(exactName ? 'NAME' : 'NAME_PINYIN');
    } else if (e.birth_date === null && e.list !== 'SANCTIONS' && exactName && !e.id_number && !e.phone_key && !e.bank_account && !e.credit_code) {
      // A name-only entry (nothing else known to confirm it): a weak hit for a human to look at. When the entry
      // does carry identifiers, a name without any of them is a namesake, not a hit.
      matched.push('NAME');
      score = Math.max(score, 0.5);
    }
  }
  return matched.length > 0 && score > 0 ? { entryId: e.id, list: e.list, entryVersion: e.version, score, matched } : null;
}

/** (Re)screens one golden customer; returns its current open hits. */
export async function screenParty(em: EntityManager, partyId: string): Promise<Hit[]> {
  const facts = await partyFacts(em, partyId);
  if (!facts) {
    await em.execute(`delete from screening_hit where party_id = ? and status = 'OPEN'`, [partyId]);
    return [];
  }
  const keys = partyKeys(facts);
  const entries = keys.length === 0 ? [] : await em.execute<EntryRow[]>(
    `select distinct e.id, e.list, e.version, e.id_number, e.name_key, e.name_pinyin, to_char(e.birth_date, 'YYYY-MM-DD') as birth_date, e.phone_key, e.bank_account, e.credit_code
       from blacklist_key k join blacklist_entry e on e.id = k.entry_id
      where k.key_hash in (${keys.map(() => 'hashtextextended(?, 0)').join(', ')}) and e.status = 'ACTIVE'
        and (e.effective_from is null or e.effective_from <= current_date) and (e.effective_to is null or e.effective_to >= current_date)`,
    keys,
  );
  const hits = entries.map((e) => evaluate(facts, e)).filter((h): h is Hit => h !== null);
  const allowed = hits.some((h) => h.list === 'ALLOW' && h.score >= 1);
  const keep = hits.filter((h) => h.list !== 'ALLOW');
  // Hits that no longer hold are removed; the others are upserted. A dismissal survives only while neither the
  // entry nor the customer has changed since.
  await em.execute(
    `delete from screening_hit where party_id = ?${keep.length ? ` and entry_id not in (${keep.map(() => '?').join(', ')})` : ''}`,
    [partyId, ...keep.map((h) => h.entryId)],
  );
  for (const h of keep) {
    await em.execute(
      `insert into screening_hit (id, party_id, entry_id, score, matched, status, dismissed_by, dismissed_reason, dismissed_at, entry_version, party_version)
       values (gen_random_uuid(), ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
       on conflict (party_id, entry_id) do update set score = excluded.score, matched = excluded.matched, updated_at = now(),
         status = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then 'DISMISSED' else excluded.status end,
         dismissed_by = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then screening_hit.dismissed_by else excluded.dismissed_by end,
         dismissed_reason = case when screening_hit.status = 'DISMISSED' and screening_hit.entry_version = excluded.entry_version and screening_hit.party_version = excluded.party_version then screening_hit.dismissed_reason else excluded.dismissed_reason end,
         entry_version = excluded.entry_version, party_version = excluded.party_version`,
      [partyId, h.entryId, h.score, JSON.stringify(h.matched), allowed ? 'DISMISSED' : 'OPEN', allowed ? 'system' : null, allowed ? 'ALLOW_LIST' : null, allowed ? new Date() : null, h.entryVersion, facts.version],
    );
  }
  return keep;
}

/** Screens every customer an entry could hit (after approval or change of the entry). */
export async function screenEntry(em: EntityManager, entryId: string): Promise<number> {
  const [e] = await em.execute<EntryRow[]>(`select id, list, version, id_number, name_key, name_pinyin, to_char(birth_date, 'YYYY-MM-DD') as birth_date, phone_key, bank_account, credit_code from blacklist_entry where id = ?`, [entryId]);
  if (!e) return 0;
  const parties = await em.execute<{ party_id: string }[]>(
    `select party_id from party_identifier where value in (?, ?)
     union select party_id from contact_point where search_key = ?
     union select id from party where status = 'ACTIVE' and name_key = ?
     union select sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id
       where ? is not null and coalesce(a.data->>'bankAccount', a.data->>'payeeBankAccount', a.data->>'payingAccount') = ?
     union select party_id from screening_hit where entry_id = ?`,
    [e.id_number, e.credit_code, e.phone_key, e.name_key, e.bank_account, e.bank_account, e.id],
  );
  // Names are found by their simplified key (a traditional-character entry finds the simplified customer);
  // homophones (pinyin) are found when the customer is next screened on change or by \`hub risk rescan\`.
  const ids = new Set(parties.map((p) => p.party_id).filter(Boolean));
  for (const id of ids) await screenParty(em, id);
  return ids.size;
}
