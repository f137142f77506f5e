import type { EntityManager } from '@mikro-orm/postgresql';
import { cursorRows } from '../db/cursor.ts';
import { executeBound } from '../db/bound-sql.ts';
import { namePinyin } from '../domain/normalize/index.ts';
import { bankAccountSql } from './activity-fields.ts';
import { bankAccountOf } from './alert-facts.ts';
import { CLAIM_RULE_KINDS, networkParams } from './alert-rules.ts';
import type { Rule } from './alert-types.ts';

/**
 * Who a whole-store rescan has to screen and evaluate. Screening a customer none of whose keys is on a list, and
 * who has no hit stored, changes nothing; neither does evaluating the alert rules for a customer without a claim,
 * without a contact point or account that enough customers share, and without an alert or a held finding. At a
 * million customers those are most of the store, so the rescan finds the others set-based — a few statements over
 * the whole store — and runs the usual per-set screening and evaluation (screening.ts, alerts.ts) on them only.
 * Each arm over-approximates (it may name a customer who then turns out to have nothing), never the reverse:
 * the result is what screening and evaluating every active customer gives, which
 * tests/integration/risk-set-equivalence.test.ts checks.
 */

/** Keeps only active customers (the rescan's population), in id order (the order the full rescan wrote in). */
async function activeAmong(em: EntityManager, ids: ReadonlySet<string>): Promise<string[]> {
  if (ids.size === 0) return [];
  const rows = await executeBound<{ id: string }[]>(
    em,
    `select id from party where status = 'ACTIVE' and id = any(?::uuid[]) order by id`,
    [[...ids]],
  );
  return rows.map((r) => r.id);
}

const idsOf = async (em: EntityManager, sql: string, params: unknown[] = []) =>
  (await executeBound<{ id: string }[]>(em, sql, params)).map((r) => r.id);

/** Live list entries (active, in effect today), as screening reads them. */
const liveEntries = `select e.id, e.name_key, e.name_pinyin, e.bank_account from blacklist_entry e
  where e.status = 'ACTIVE' and (e.effective_from is null or e.effective_from <= current_date)
    and (e.effective_to is null or e.effective_to >= current_date)`;

/**
 * Customers screening could give a hit or has to clear one: holders of an id number, phone or name key that a live
 * entry lists (the same hashed keys screening looks up), of an account a live entry lists (compared with every
 * non-alphanumeric character removed on both sides, which finds at least what screening's whitespace-free
 * comparison finds), of a name whose pinyin a live entry lists (computed here as screening computes it, over the
 * store's distinct names), and everyone with a stored hit. Runs inside a transaction (the names are read through
 * a cursor).
 */
export async function screeningCandidates(em: EntityManager): Promise<string[]> {
  const ids = new Set<string>();
  const add = (list: string[]) => {
    for (const id of list) ids.add(id);
  };
  const liveKeys = `select k.key_hash from blacklist_key k join (${liveEntries}) e on e.id = k.entry_id`;
  add(
    await idsOf(
      em,
      `select pi.party_id as id from party_identifier pi
        where pi.value is not null and hashtextextended('id:' || pi.value, 0) in (${liveKeys})
       union select cp.party_id from contact_point cp
        where cp.kind in ('MOBILE', 'LANDLINE') and cp.search_key is not null and hashtextextended('phone:' || cp.search_key, 0) in (${liveKeys})
       union select p.id from party p
        where p.name_key <> '' and hashtextextended('name:' || p.name_key, 0) in (${liveKeys})
       union select party_id from screening_hit`,
    ),
  );
  const entries = await executeBound<
    { name_key: string | null; name_pinyin: string | null; bank_account: string | null }[]
  >(em, liveEntries);
  const accounts = [
    ...new Set(entries.flatMap((e) => (e.bank_account ? [e.bank_account.replace(/[^0-9A-Za-z]/g, '')] : []))),
  ];
  if (accounts.length > 0)
    add(
      await idsOf(
        em,
        `select distinct sr.party_id as id from activity a
           join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
          where not a.deleted and regexp_replace(${bankAccountSql('a')}, '[^0-9A-Za-z]', '', 'g') = any(?::text[])`,
        [accounts],
      ),
    );
  const pinyins = new Set(
    entries.flatMap((e) => (e.name_pinyin && e.name_pinyin !== e.name_key ? [e.name_pinyin] : [])),
  );
  if (pinyins.size > 0) {
    const names: string[] = [];
    for await (const rows of cursorRows<{ name_key: string }>(
      em,
      'rescan_names',
      `select distinct name_key from party where status = 'ACTIVE' and name_key <> ''`,
    ))
      for (const r of rows) {
        const py = namePinyin(r.name_key, { surname: true });
        if (py !== null && py !== r.name_key && pinyins.has(py)) names.push(r.name_key);
      }
    if (names.length > 0)
      add(await idsOf(em, `select id from party where status = 'ACTIVE' and name_key = any(?::text[])`, [names]));
  }
  return activeAmong(em, ids);
}

/**
 * Customers an alert rule could find something for or has to close one of: with a claim (every claim rule needs
 * one), holding a phone, address or account held by a network rule's minimum of active customers of distinct
 * households and names or by more than its maximum, with an alert not closed or a finding in its hold.
 * A rule of a kind this does not know makes everyone a candidate.
 */
export async function alertCandidates(em: EntityManager, rules: readonly Rule[]): Promise<string[] | 'everyone'> {
  const ids = new Set<string>();
  const add = (list: string[]) => {
    for (const id of list) ids.add(id);
  };
  add(
    await idsOf(
      em,
      `select party_id as id from alert where status <> 'CLOSED' union select party_id from alert_pending`,
    ),
  );
  if (rules.some((r) => CLAIM_RULE_KINDS.has(r.kind)))
    add(
      await idsOf(
        em,
        `select distinct sr.party_id as id from activity a
           join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
          where a.kind = 'CLAIM' and not a.deleted`,
      ),
    );
  for (const rule of rules) {
    if (CLAIM_RULE_KINDS.has(rule.kind)) continue;
    if (rule.kind !== 'SHARED_CONTACT') return 'everyone';
    const { contact, min, maxCustomers } = networkParams(rule.params);
    // Who holds what. The rule counts holders as one when they share a household, a name, and more
    // (network-sharers.ts), so its count is never above the number of distinct households (a holder without one
    // counting alone) nor above the number of distinct names (at least one). A value can be a network when both
    // reach the rule's minimum, and is proposed as an exclusion when it has too many holders.
    const held =
      contact === 'BANK_ACCOUNT'
        ? `select ${bankAccountOf} as k, 'ACCOUNT' as kind, sr.party_id from activity a
             join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
            where not a.deleted and a.kind in ('PAYMENT', 'CLAIM')`
        : `select cp.search_key as k, cp.kind, cp.party_id from contact_point cp
            where cp.kind = any(?::text[]) and cp.search_key is not null`;
    const kinds = contact === 'BANK_ACCOUNT' ? [] : [contact === 'ADDRESS' ? ['ADDRESS'] : ['MOBILE', 'LANDLINE']];
    add(
      await idsOf(
        em,
        `with held as materialized (${held}),
              shared as (
                select h.k, h.kind from held h
                  join party op on op.id = h.party_id and op.status = 'ACTIVE'
                  left join household_member hm on hm.party_id = h.party_id
                 where h.k <> ''
                 group by h.k, h.kind
                having (count(distinct coalesce(hm.household_id::text, h.party_id::text)) >= ?
                        and greatest(count(distinct nullif(op.name_key, '')), 1) >= ?)
                    or count(distinct h.party_id) > ?)
         select distinct h.party_id as id from held h join shared s on s.k = h.k and s.kind = h.kind`,
        [...kinds, min, min, maxCustomers],
      ),
    );
  }
  return activeAmong(em, ids);
}
