import { IsolationLevel } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import { type NotFound, notFound } from '../domain/results.ts';

/**
 * The right of access (PIPL art. 45): everything the hub holds about one person, with where each item comes
 * from — the golden record and the ids merged into it, every linked source record with its raw payload, the
 * identifiers and contact points with their source records, lineage and history, policies with the roles the
 * person holds, activities (payments, claims, calls, consents …), consents with their history, alerts and
 * screening hits, relationships and household, review tasks, who read their data (the access audit), and earlier
 * requests. Read in one REPEATABLE READ snapshot, logged in `rights_request` (who exported, why).
 */
export type SubjectAccessExport = {
  requestId: string;
  customerId: string;
  exportedAt: string;
  exportedBy: string;
  data: Record<string, unknown>;
};

/** The golden id a customer id resolves to now, and every id merged into it (ids of this person). */
export async function personIds(
  em: EntityManager,
  customerId: string,
): Promise<{ goldenId: string; ids: string[]; status: string } | null> {
  if (!isUuid(customerId)) return null;
  const [golden] = await executeBound<{ id: string; status: string }[]>(
    em,
    `with recursive up(id, merged_into_id, status, depth) as (
       select id, merged_into_id, status, 0 from party where id = ?::uuid
       union all select p.id, p.merged_into_id, p.status, up.depth + 1 from party p join up on p.id = up.merged_into_id
        where up.status = 'MERGED' and up.depth < 20)
     select id::text, status from up order by depth desc limit 1`,
    [customerId.toLowerCase()],
  );
  if (!golden) return null;
  const aliases = await executeBound<{ id: string }[]>(
    em,
    `with recursive down(id, depth) as (
       select id, 0 from party where id = ?::uuid
       union all select p.id, down.depth + 1 from party p join down on p.merged_into_id = down.id where down.depth < 20)
     select id::text from down`,
    [golden.id],
  );
  return { goldenId: golden.id, ids: [...new Set([golden.id, ...aliases.map((a) => a.id)])], status: golden.status };
}

const q = <T = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[]) =>
  executeBound<T[]>(em, sql, params);

/** Everything held about the person, by section; each item names its source (system and source id). */
export async function collectPersonData(
  em: EntityManager,
  person: { goldenId: string; ids: string[] },
): Promise<Record<string, unknown>> {
  const ids = person.ids;
  const records = `select id, system, source_id from source_record where party_id = any(?::uuid[])`;
  const [customer] = await q(em, `select * from party where id = ?::uuid`, [person.goldenId]);
  const merged = await q(
    em,
    `select id, status, merged_into_id, created_at, updated_at from party where id = any(?::uuid[]) and id <> ?::uuid`,
    [ids, person.goldenId],
  );
  const sourceRecords = await q(
    em,
    `select id, system, source_id, link_type, link_score, linked_at, match_explanation, raw, attributes, attribute_versions,
            source_time, source_version::text, deleted, updated_at
       from source_record where party_id = any(?::uuid[]) order by system, source_id`,
    [ids],
  );
  const identifiers = await q(
    em,
    `select i.type, i.value, i.raw, i.valid, i.issues, sr.system as source_system, sr.source_id
       from party_identifier i join source_record sr on sr.id = i.source_record_id where i.party_id = any(?::uuid[]) order by i.type, sr.system`,
    [ids],
  );
  const contactPoints = await q(
    em,
    `select c.kind, c.value, c.raw, c.valid, c.issues, c.valid_from, c.valid_to, sr.system as source_system, sr.source_id
       from contact_point c join source_record sr on sr.id = c.source_record_id where c.party_id = any(?::uuid[]) order by c.kind, sr.system`,
    [ids],
  );
  const history = await q(
    em,
    `select party_id, version, cause, detail, snapshot, created_at from party_history where party_id = any(?::uuid[]) order by party_id, version`,
    [ids],
  );
  const roles = await q(
    em,
    `select r.system as source_system, r.client_source_id as source_id, r.policy_no, r.role, r.relation_code, r.beneficiary_order,
            r.share_percent, r.current, r.deleted
       from policy_role r join (${records}) sr on sr.system = r.system and sr.source_id = r.client_source_id
      order by r.policy_no, r.role`,
    [ids],
  );
  const policyKeys = [...new Set(roles.map((r) => `${r.source_system}/${r.policy_no}`))];
  const policies = policyKeys.length
    ? await q(
        em,
        `select p.*, (select coalesce(jsonb_agg(to_jsonb(c) - 'id' order by c.coverage, c.rider), '[]') from policy_cover c
                       where c.system = p.system and c.policy_no = p.policy_no) as covers
           from policy p where (p.system || '/' || p.policy_no) = any(?::text[]) order by p.policy_no`,
        [policyKeys],
      )
    : [];
  const phoneKeys = await q<{ k: string }>(
    em,
    `select distinct search_key as k from contact_point where party_id = any(?::uuid[]) and kind in ('MOBILE','LANDLINE') and search_key is not null`,
    [ids],
  );
  const activities = await q(
    em,
    `select a.kind, a.system, a.source_key, a.party_system as source_system, a.party_source_id as source_id, a.caller_phone_key,
            a.policy_no, a.occurred_at, a.type, a.status, a.amount::text, a.data, a.source_version::text, a.deleted
       from activity a
      where (a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = any(?::uuid[]))
         or a.caller_phone_key = any(?::text[])
      order by a.occurred_at desc nulls last, a.kind, a.source_key`,
    [ids, phoneKeys.map((p) => p.k)],
  );
  const consents = await q(
    em,
    `select c.purpose, c.channel, c.status, c.occurred_at, c.event_id, c.source_version::text, c.party_system as source_system, c.party_source_id as source_id
       from consent_event c join (${records}) sr on sr.system = c.party_system and sr.source_id = c.party_source_id
      order by c.purpose, c.channel, c.occurred_at desc`,
    [ids],
  );
  const alerts = await q(
    em,
    `select id, rule_code, rule_version, status, points, evidence, explanation, acknowledged_by, closed_by, closed_reason,
            suppressed_until, created_at, updated_at from alert where party_id = any(?::uuid[]) order by created_at`,
    [ids],
  );
  const screeningHits = await q(
    em,
    `select h.id, e.list, h.score, h.matched, h.status, h.dismissed_by, h.dismissed_reason, h.dismissed_at, h.created_at
       from screening_hit h join blacklist_entry e on e.id = h.entry_id where h.party_id = any(?::uuid[]) order by h.created_at`,
    [ids],
  );
  const relationships = await q(
    em,
    `select case when party_a = any(?::uuid[]) then party_b else party_a end as other_customer_id, kind, family, evidence, source, updated_at
       from relationship where party_a = any(?::uuid[]) or party_b = any(?::uuid[]) order by kind`,
    [ids, ids, ids],
  );
  const household = await q(
    em,
    `select m.household_id, m.pinned, m.since, h.version, h.status from household_member m join household h on h.id = m.household_id
      where m.party_id = any(?::uuid[])`,
    [ids],
  );
  const reviewTasks = await q(
    em,
    `select t.id, t.status, t.probability, t.explanation, t.decided_by, t.decided_at, t.reason, t.created_at, t.candidate_party_id,
            sr.system as source_system, sr.source_id
       from review_task t join source_record sr on sr.id = t.source_record_id
      where sr.party_id = any(?::uuid[]) or t.candidate_party_id = any(?::uuid[]) order by t.created_at`,
    [ids, ids],
  );
  const accessAudit = await q(
    em,
    `select at, subject, roles, purpose, field, operation from access_audit where customer_id = any(?::uuid[]) order by at desc limit 10000`,
    [ids],
  );
  const requests = await q(
    em,
    `select id, kind, status, reason, requested_by, requested_at, approved_by, done_at from rights_request where party_id = any(?::uuid[]) order by requested_at`,
    [ids],
  );
  return {
    customer,
    mergedCustomers: merged,
    sourceRecords,
    identifiers,
    contactPoints,
    lineage: (customer as { lineage?: unknown } | undefined)?.lineage ?? {},
    history,
    policies,
    policyRoles: roles,
    activities,
    consents,
    alerts,
    screeningHits,
    relationships,
    household,
    reviewTasks,
    accessAudit,
    rightsRequests: requests,
  };
}

/** Exports everything held about the person and logs the export (who, why). */
export async function exportSubjectData(
  em: EntityManager,
  customerId: string,
  actor: string,
  reason: string,
): Promise<SubjectAccessExport | NotFound> {
  return em.transactional(
    async (tx) => {
      const person = await personIds(tx, customerId);
      if (!person) return notFound(`customer ${customerId} does not exist`);
      const data = await collectPersonData(tx, person);
      const [log] = await executeBound<{ id: string; at: Date }[]>(
        tx,
        `insert into rights_request (kind, party_id, status, reason, requested_by, approved_by, done_at, summary)
         values ('ACCESS', ?::uuid, 'DONE', ?, ?, ?, now(), ?::jsonb) returning id::text, done_at as at`,
        [
          person.goldenId,
          reason,
          actor,
          actor,
          JSON.stringify(
            Object.fromEntries(
              Object.entries(data).map(([k, v]) => [k, Array.isArray(v) ? v.length : v === undefined ? 0 : 1]),
            ),
          ),
        ],
      );
      return {
        requestId: log?.id ?? '',
        customerId: person.goldenId,
        exportedAt: new Date(log?.at ?? Date.now()).toISOString(),
        exportedBy: actor,
        data,
      };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ },
  );
}
