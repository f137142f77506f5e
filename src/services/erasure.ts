import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { quoteIdent } from '../db/sql-sets.ts';
import type { PartyAttributes } from '../domain/canonical.ts';
import { writeHistory } from '../sync/history.ts';

/**
 * Erasure (PIPL art. 47): removes or pseudonymises one person's personal data in every table, in one
 * transaction, keeping what the insurer must keep for its policy obligations as pseudonymised rows.
 *
 * 1. Targeted, by ownership: the golden record (and the ids merged into it) keeps its id with no name, birth date
 *    or lineage, status ERASED; its source records keep system and (for sources' own numbers, such as a client
 *    number that policies refer to) their source id, but lose raw payload, attributes, match profile, attribute
 *    versions and match explanation and are marked deleted; source ids built from personal data
 *    (`RESIDENT_ID:…`, `MOBILE:…`) become `erased:<random>` and the activities, roles and consents keyed by them
 *    follow; identifiers, contact points and blocking keys are deleted; activities keep kind, type, status, time,
 *    amount and policy number but lose bank accounts, caller numbers and call summaries; history keeps versions
 *    and causes, not details or snapshots; alerts are closed and screening hits, review tasks and relationships
 *    lose their evidence; household membership ends.
 * 2. A sweep, by value: every text and JSON column of every table is searched for the person's identifying
 *    values (id numbers, phones, e-mails, addresses, bank accounts; names too outside other people's own
 *    records) and each occurrence is replaced by `[erased]` — other customers' alert evidence naming the person,
 *    quarantined messages (dropped whole when they carry the person), unpublished outbox payloads, review
 *    explanations, the access audit's declared purposes, this erasure's own reason. The sweep reads the
 *    database's catalogue, so a table added later is covered without a change here.
 *
 * Not erased: blacklists and network exclusions (kept under anti-fraud and anti-money-laundering obligations;
 * a steward removes an entry through the blacklist workflow), policies and covers (no personal values), access
 * audit rows (who read what and when, required to be kept; only the values inside their free text go).
 */
export const erasedToken = '[erased]';

/** Tables the sweep leaves alone (see above); the sweep never rewrites their rows. */
const notSwept = new Set([
  'blacklist_entry',
  'blacklist_key',
  'blacklist_audit',
  'network_exclusion',
  'mikro_orm_migrations',
]);
/** Tables holding other people's own records: a name there is theirs as often as the erased person's. */
const ownRecords = new Set([
  'party',
  'source_record',
  'party_identifier',
  'contact_point',
  'activity',
  'consent_event',
  'policy',
  'policy_cover',
  'policy_role',
]);

export type ErasureSummary = Record<string, number>;

const q = <T = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[] = []) =>
  executeBound<T[]>(em, sql, params);
const count = async (em: EntityManager, sql: string, params: unknown[]) =>
  (await q<{ n: number }>(em, `with w as (${sql} returning 1) select count(*)::int as n from w`, params))[0]?.n ?? 0;

/** The person's identifying values: strong ones (swept everywhere) and names (swept outside own records). */
async function personalValues(em: EntityManager, ids: string[]): Promise<{ strong: string[]; names: string[] }> {
  const strong = new Set<string>();
  const names = new Set<string>();
  const add = (set: Set<string>, v: unknown, min: number) => {
    if (typeof v === 'string' && v.trim().length >= min) set.add(v.trim());
  };
  for (const r of await q<{ value: string | null; raw: string | null; search_key: string | null }>(
    em,
    `select value, raw, null as search_key from party_identifier where party_id = any(?::uuid[])
     union all select value, raw, search_key from contact_point where party_id = any(?::uuid[])`,
    [ids, ids],
  )) {
    add(strong, r.value, 6);
    add(strong, r.raw, 6);
    add(strong, r.search_key, 6);
  }
  for (const r of await q<{ source_id: string; attributes: PartyAttributes | null }>(
    em,
    `select source_id, attributes from source_record where party_id = any(?::uuid[])`,
    [ids],
  )) {
    const key = /^[A-Z_]+:(.+)$/.exec(r.source_id);
    if (key) add(strong, key[1], 6);
    const a = r.attributes;
    if (!a) continue;
    add(names, a.fullName, 2);
    if (a.familyName && a.givenName) {
      add(names, `${a.familyName}${a.givenName}`, 2);
      add(names, `${a.familyName} ${a.givenName}`, 3);
    }
    for (const i of a.identifiers ?? []) add(strong, i.value, 6), add(strong, i.raw, 6);
    for (const c of a.contactPoints ?? []) add(strong, c.value, 6), add(strong, c.raw, 6), add(strong, c.searchKey, 6);
  }
  for (const r of await q<{ display_name: string | null }>(
    em,
    `select display_name from party where id = any(?::uuid[])`,
    [ids],
  ))
    add(names, r.display_name, 2);
  for (const r of await q<{ v: string | null }>(
    em,
    `select unnest(array[a.data->>'bankAccount', a.data->>'payeeBankAccount', a.data->>'payingAccount', a.data->>'callerNumber']) as v
       from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id
      where sr.party_id = any(?::uuid[])`,
    [ids],
  ))
    add(strong, r.v, 6);
  return { strong: [...strong], names: [...names].filter((n) => !strong.has(n)) };
}

const regexEscape = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One alternation, longest first (an address before the district it contains). */
const patternOf = (values: readonly string[], json: boolean): string | null =>
  values.length === 0
    ? null
    : [...values]
        .sort((a, b) => b.length - a.length)
        .map((v) => regexEscape(json ? JSON.stringify(v).slice(1, -1) : v))
        .join('|');

/** Columns the sweep leaves alone: keys the targeted step already pseudonymised (another person's stays theirs). */
const notSweptColumns = new Set(['source_record.source_id']);

/** Replaces the values in every text and JSON column of every table (but `notSwept`). */
async function sweep(em: EntityManager, strong: string[], names: string[], summary: ErasureSummary): Promise<void> {
  const columns = await q<{ table_name: string; column_name: string; data_type: string }>(
    em,
    `select c.table_name, c.column_name, c.data_type from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = current_schema() and c.data_type in ('text', 'character varying', 'jsonb', 'json')
      order by c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, { column: string; type: string }[]>();
  for (const c of columns) {
    if (notSwept.has(c.table_name) || notSweptColumns.has(`${c.table_name}.${c.column_name}`)) continue;
    byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), { column: c.column_name, type: c.data_type }]);
  }
  const isJson = (t: string) => t === 'jsonb' || t === 'json';
  for (const [table, cols] of byTable) {
    const values = ownRecords.has(table) ? strong : [...strong, ...names];
    const text = patternOf(values, false);
    const json = patternOf(values, true);
    if (!text || !json) continue;
    // Each placeholder is bound in the order it appears in the statement.
    const build = (parts: (string | { pattern: string })[], params: unknown[]) =>
      parts.map((p) => (typeof p === 'string' ? p : (params.push(p.pattern), '?'))).join('');
    const patternFor = (c: { type: string }) => ({ pattern: isJson(c.type) ? json : text });
    const matches = (c: { column: string; type: string }) => [`(${quoteIdent(c.column)}::text ~ `, patternFor(c), ')'];
    if (table === 'quarantined_event') {
      // A quarantined message carrying the person is dropped whole: it cannot be replayed as it was anyway.
      const hit = cols.filter((c) => c.column === 'message_value' || c.column === 'message_key');
      const params: unknown[] = [];
      const where = build(
        hit.flatMap((c, i) => [...(i > 0 ? [' or '] : []), ...matches(c)]),
        params,
      );
      const n = hit.length
        ? await count(
            em,
            `update quarantined_event set message_value = null, message_key = null, dlq_published_at = coalesce(dlq_published_at, now()) where ${where}`,
            params,
          )
        : 0;
      if (n > 0) summary['quarantined_event.dropped'] = n;
    }
    const params: unknown[] = [];
    const sets = build(
      cols.flatMap((c, i) => [
        ...(i > 0 ? [', '] : []),
        `${quoteIdent(c.column)} = case when `,
        ...matches(c),
        ` then regexp_replace(${quoteIdent(c.column)}::text, `,
        patternFor(c),
        `, '${erasedToken}', 'g')${isJson(c.type) ? `::${c.type}` : ''} else ${quoteIdent(c.column)} end`,
      ]),
      params,
    );
    const where = build(
      cols.flatMap((c, i) => [...(i > 0 ? [' or '] : []), ...matches(c)]),
      params,
    );
    const n = await count(em, `update ${quoteIdent(table)} set ${sets} where ${where}`, params);
    if (n > 0) summary[`${table}.swept`] = (summary[`${table}.swept`] ?? 0) + n;
  }
}

/**
 * Erases one person (their golden id and the ids merged into it), in the caller's transaction; writes the
 * ERASED version (history and the hub.customers.v1 event). Returns what was done, by table, without values.
 */
export async function erasePerson(
  em: EntityManager,
  person: { goldenId: string; ids: string[] },
  detail: { by: string; approvedBy: string; request: string },
): Promise<ErasureSummary> {
  const ids = person.ids;
  const summary: ErasureSummary = {};
  const note = (k: string, n: number) => {
    if (n > 0) summary[k] = (summary[k] ?? 0) + n;
  };
  await q(em, `select 1 from party where id = any(?::uuid[]) order by id for no key update`, [ids]);
  const { strong, names } = await personalValues(em, ids);
  const records = await q<{ id: string; system: string; source_id: string }>(
    em,
    `select id, system, source_id from source_record where party_id = any(?::uuid[]) order by id for update`,
    [ids],
  );
  const recordIds = records.map((r) => r.id);
  const phoneKeys = (
    await q<{ k: string }>(
      em,
      `select distinct search_key as k from contact_point where party_id = any(?::uuid[]) and kind in ('MOBILE','LANDLINE') and search_key is not null`,
      [ids],
    )
  ).map((r) => r.k);

  // Activities: keep what policy obligations need (kind, type, status, time, amount, policy), drop the rest.
  note(
    'activity',
    await count(
      em,
      `update activity a set data = a.data - 'bankAccount' - 'payeeBankAccount' - 'payingAccount' - 'callerNumber' - 'summary',
              caller_phone_key = null, updated_at = now()
        where (a.party_system, a.party_source_id) in (select system, source_id from source_record where id = any(?::uuid[]))
           or a.caller_phone_key = any(?::text[])`,
      [recordIds, phoneKeys],
    ),
  );
  // Source ids built from personal data get a random pseudonym; what refers to them follows.
  for (const r of records.filter((x) => /^[A-Z_]+:/.test(x.source_id))) {
    const pseudonym = `erased:${randomUUID()}`;
    await q(em, `update activity set party_source_id = ? where party_system = ? and party_source_id = ?`, [
      pseudonym,
      r.system,
      r.source_id,
    ]);
    await q(em, `update consent_event set party_source_id = ? where party_system = ? and party_source_id = ?`, [
      pseudonym,
      r.system,
      r.source_id,
    ]);
    await q(em, `update policy_role set client_source_id = ? where system = ? and client_source_id = ?`, [
      pseudonym,
      r.system,
      r.source_id,
    ]);
    await q(em, `update source_record set source_id = ? where id = ?`, [pseudonym, r.id]);
    note('source_record.pseudonymised_id', 1);
  }
  note('match_key', await count(em, `delete from match_key where source_record_id = any(?::uuid[])`, [recordIds]));
  note(
    'party_identifier',
    await count(
      em,
      `delete from party_identifier where party_id = any(?::uuid[]) or source_record_id = any(?::uuid[])`,
      [ids, recordIds],
    ),
  );
  note(
    'contact_point',
    await count(em, `delete from contact_point where party_id = any(?::uuid[]) or source_record_id = any(?::uuid[])`, [
      ids,
      recordIds,
    ]),
  );
  note(
    'source_record',
    await count(
      em,
      `update source_record set raw = null, match_profile = null, attribute_versions = null, match_explanation = null, deleted = true,
              attributes = jsonb_build_object('kind', attributes->>'kind', 'fullName', null, 'familyName', null, 'givenName', null,
                'nameKey', null, 'birthDate', null, 'sex', null, 'occupationCode', null, 'identifiers', '[]'::jsonb, 'contactPoints', '[]'::jsonb),
              updated_at = now()
        where id = any(?::uuid[])`,
      [recordIds],
    ),
  );
  note(
    'review_task',
    await count(
      em,
      `update review_task set explanation = '{"erased": true}'::jsonb, reason = null,
              status = case when status = 'OPEN' then 'OBSOLETE' else status end
        where source_record_id = any(?::uuid[]) or candidate_party_id = any(?::uuid[])`,
      [recordIds, ids],
    ),
  );
  note(
    'alert',
    await count(
      em,
      `update alert set evidence = '{"erased": true}'::jsonb, explanation = 'erased', closed_reason = 'customer erased',
              status = 'CLOSED', closed_by = coalesce(closed_by, ?), updated_at = now() where party_id = any(?::uuid[])`,
      [detail.by, ids],
    ),
  );
  note('alert_pending', await count(em, `delete from alert_pending where party_id = any(?::uuid[])`, [ids]));
  note(
    'screening_hit',
    await count(
      em,
      `update screening_hit set matched = '{"erased": true}'::jsonb, dismissed_reason = null, dismissal_proposed_reason = null, updated_at = now()
        where party_id = any(?::uuid[])`,
      [ids],
    ),
  );
  note(
    'relationship',
    await count(em, `delete from relationship where party_a = any(?::uuid[]) or party_b = any(?::uuid[])`, [ids, ids]),
  );
  note('household_member', await count(em, `delete from household_member where party_id = any(?::uuid[])`, [ids]));
  note(
    'party_history',
    await count(
      em,
      `update party_history set detail = '{"erased": true}'::jsonb, snapshot = '{"erased": true}'::jsonb where party_id = any(?::uuid[])`,
      [ids],
    ),
  );
  await q(
    em,
    `update party set display_name = null, name_key = null, family_name = null, given_name = null, birth_date = null, sex = null,
            occupation_code = null, lineage = '{}'::jsonb, updated_at = now() where id = any(?::uuid[])`,
    [ids],
  );
  const [golden] = await q<{ version: number }>(
    em,
    `update party set status = 'ERASED', version = version + 1 where id = ?::uuid returning version`,
    [person.goldenId],
  );
  note('party', ids.length);
  await writeHistory(em, person.goldenId, golden?.version ?? 0, 'ERASED', detail, { status: 'ERASED' });
  await sweep(em, strong, names, summary);
  return summary;
}
