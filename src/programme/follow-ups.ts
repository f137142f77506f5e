import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks } from '../db/sql-sets.ts';
import type { InteractionNote } from '../sync/change-set.ts';
import type { Thresholds } from './config.ts';
import { dayNumber, inForceStatuses } from './value.ts';

/**
 * Follow-ups due (回访), derived from events: a policy issued (new business, due within the cooling-off period),
 * a policy lapsed, a claim paid (benefit payment), a policy whose agent departed (orphaned). Each task has a
 * key of the event it comes from (`dedup_key`: type, policy and the lapse's paid-to date, the claim, or the
 * departed agent), so a replay, a duplicate or a re-derivation finds the task it made and creates nothing twice.
 * A contact-centre FOLLOW_UP call of the matching subtype closes the task (on the same policy, or — when the call
 * names no policy — on the same golden customer), whichever arrives first: a task derived after its call is
 * closed at once. Outcomes REACHED, RESOLVED and REFUSED close it; NO_ANSWER (or none) counts as an attempt.
 * The policy, its holder's role and the call come on different topics, in any order: a task derived before its
 * holder's role is known gets the holder when the role arrives, even when a call has closed it meanwhile. A closed
 * task keeps the holder, agent and branch it had (a later change of holder does not move a finished call's task).
 */
export const followUpTypes = ['NEW_BUSINESS', 'LAPSE', 'BENEFIT_PAYMENT', 'ORPHANED_POLICY'] as const;
export type FollowUpType = (typeof followUpTypes)[number];
/** The contact centre's follow-up subtype (contract §4) that answers each task type. */
export const callSubtypeOf: Record<FollowUpType, string> = {
  NEW_BUSINESS: 'NEW_POLICY',
  LAPSE: 'LAPSED_POLICY',
  BENEFIT_PAYMENT: 'BENEFIT_PAYMENT',
  ORPHANED_POLICY: 'DEPARTED_AGENT',
};
const closingOutcomes = ['REACHED', 'RESOLVED', 'REFUSED'];

type Task = {
  type: FollowUpType;
  dedupKey: string;
  policySystem: string | null;
  policyNo: string | null;
  partySystem: string | null;
  partySourceId: string | null;
  agentCode: string | null;
  branch: string | null;
  sourceRef: string;
  openedAt: string;
  dueDate: string;
};

const addDays = (iso: string, n: number) => new Date((dayNumber(iso) + n) * 86_400_000).toISOString().slice(0, 10);
/** Midnight of a calendar day in China Standard Time. */
const cstMidnight = (day: string) => `${day}T00:00:00+08:00`;

type PolicyRow = {
  system: string;
  policy_no: string;
  status: string | null;
  commencement: string | null;
  paid_to: string | null;
  agent_code: string | null;
  changed_on: string | null;
  changed_at: string | null;
  holder: string | null;
  branch: string | null;
  departed_on: string | null;
};

export type FollowUpWork = {
  policies: readonly { system: string; policyNo: string }[];
  claimOwners: readonly { system: string; sourceId: string }[];
  interactions: readonly InteractionNote[];
};

/** Derives, cancels and closes the follow-ups of what changed; returns the tasks created or changed. */
export async function deriveFollowUps(
  em: EntityManager,
  work: FollowUpWork,
  t: Thresholds,
  day: string,
): Promise<number> {
  const oldest = dayNumber(day) - t.followUpMaxAgeDays;
  const tasks: Task[] = [];
  const cancel: { policyNo: string; system: string; type: FollowUpType; reason: string }[] = [];
  for (const part of chunked(work.policies, 500)) {
    const rows = await executeBound<PolicyRow[]>(
      em,
      `select pol.system, pol.policy_no, pol.status, to_char(pol.commencement_date, 'YYYY-MM-DD') as commencement,
              to_char(pol.paid_to_date, 'YYYY-MM-DD') as paid_to, pol.agent_code,
              to_char((pol.source_time at time zone 'Asia/Shanghai')::date, 'YYYY-MM-DD') as changed_on, pol.source_time as changed_at,
              (select min(pr.client_source_id) from policy_role pr where pr.system = pol.system and pr.policy_no = pol.policy_no
                  and pr.role = 'POLICYHOLDER' and pr.current and not pr.deleted) as holder,
              ag.branch, to_char(ag.departed_on, 'YYYY-MM-DD') as departed_on
         from (values ${marks(part.length, '(?, ?)')}) as k(system, policy_no)
         join policy pol on pol.system = k.system and pol.policy_no = k.policy_no and not pol.deleted
         left join agent ag on ag.code = pol.agent_code`,
      part.flatMap((p) => [p.system, p.policyNo]),
    );
    for (const p of rows) {
      const common = {
        policySystem: p.system,
        policyNo: p.policy_no,
        partySystem: p.holder ? p.system : null,
        partySourceId: p.holder,
        agentCode: p.agent_code,
        branch: p.branch,
      };
      const inForce = p.status !== null && inForceStatuses.includes(p.status);
      if (p.status === 'IF' && p.commencement && dayNumber(p.commencement) >= oldest)
        tasks.push({
          ...common,
          type: 'NEW_BUSINESS',
          dedupKey: `NEW_BUSINESS|${p.system}|${p.policy_no}`,
          sourceRef: `issued ${p.commencement}`,
          openedAt: cstMidnight(p.commencement),
          dueDate: addDays(p.commencement, t.coolingOffDays),
        });
      if (p.status === 'CF')
        cancel.push({
          system: p.system,
          policyNo: p.policy_no,
          type: 'NEW_BUSINESS',
          reason: 'CANCELLED_IN_COOLING_OFF',
        });
      if (p.status === 'LA' && p.changed_on && dayNumber(p.changed_on) >= oldest)
        tasks.push({
          ...common,
          type: 'LAPSE',
          // One task per lapse: a policy reinstated and lapsed again has paid to a later date.
          dedupKey: `LAPSE|${p.system}|${p.policy_no}|${p.paid_to ?? 'unknown'}`,
          sourceRef: `lapsed, paid to ${p.paid_to ?? 'unknown'}`,
          openedAt: new Date(p.changed_at as string).toISOString(),
          dueDate: addDays(p.changed_on, t.lapseFollowUpDays),
        });
      if (inForce) cancel.push({ system: p.system, policyNo: p.policy_no, type: 'LAPSE', reason: 'REINSTATED' });
      if (inForce && p.agent_code && p.departed_on && dayNumber(p.departed_on) <= dayNumber(day))
        tasks.push({
          ...common,
          type: 'ORPHANED_POLICY',
          dedupKey: `ORPHANED_POLICY|${p.system}|${p.policy_no}|${p.agent_code}`,
          sourceRef: `agent ${p.agent_code} departed ${p.departed_on}`,
          openedAt: cstMidnight(p.departed_on),
          dueDate: addDays(p.departed_on, t.orphanFollowUpDays),
        });
    }
  }
  for (const part of chunked(work.claimOwners, 500)) {
    const claims = await executeBound<
      {
        source_key: string;
        policy_no: string | null;
        party_system: string;
        party_source_id: string;
        paid_on: string;
        paid_at: string;
        policy_system: string | null;
        agent_code: string | null;
        branch: string | null;
      }[]
    >(
      em,
      `select a.source_key, a.policy_no, a.party_system, a.party_source_id,
              to_char((to_timestamp(a.source_version / 1000000.0) at time zone 'Asia/Shanghai')::date, 'YYYY-MM-DD') as paid_on,
              to_timestamp(a.source_version / 1000000.0) as paid_at, pol.system as policy_system, pol.agent_code, ag.branch
         from (values ${marks(part.length, '(?, ?)')}) as o(system, source_id)
         join activity a on a.party_system = o.system and a.party_source_id = o.source_id and a.kind = 'CLAIM' and not a.deleted and a.status = 'PAID'
         left join lateral (select system, agent_code from policy where policy_no = a.policy_no and not deleted order by system limit 1) pol on true
         left join agent ag on ag.code = pol.agent_code`,
      part.flatMap((o) => [o.system, o.sourceId]),
    );
    for (const c of claims)
      if (dayNumber(c.paid_on) >= oldest)
        tasks.push({
          type: 'BENEFIT_PAYMENT',
          dedupKey: `BENEFIT_PAYMENT|claims|${c.source_key}`,
          policySystem: c.policy_system,
          policyNo: c.policy_no,
          partySystem: c.party_system,
          partySourceId: c.party_source_id,
          agentCode: c.agent_code,
          branch: c.branch,
          sourceRef: `claim ${c.source_key} paid`,
          openedAt: new Date(c.paid_at).toISOString(),
          dueDate: addDays(c.paid_on, t.benefitFollowUpDays),
        });
  }
  let touched = 0;
  const candidates = new Set<string>();
  for (const part of chunked(dedupe(tasks), 300)) {
    const rows = await executeBound<{ id: string; status: string }[]>(
      em,
      `insert into follow_up as t (id, type, dedup_key, policy_system, policy_no, party_system, party_source_id, agent_code, branch, source_ref, opened_at, due_date)
       values ${marks(part.length, '(?::uuid, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz, ?::date)')}
       on conflict (dedup_key) do update set
         party_system = case when t.status = 'OPEN' or t.party_source_id is null then coalesce(excluded.party_system, t.party_system) else t.party_system end,
         party_source_id = case when t.status = 'OPEN' or t.party_source_id is null then coalesce(excluded.party_source_id, t.party_source_id) else t.party_source_id end,
         agent_code = case when t.status = 'OPEN' then excluded.agent_code else t.agent_code end,
         branch = case when t.status = 'OPEN' then coalesce(excluded.branch, t.branch) else t.branch end, updated_at = now()
       where (t.party_source_id is null and excluded.party_source_id is not null)
         or (t.status = 'OPEN' and (t.party_source_id is distinct from coalesce(excluded.party_source_id, t.party_source_id)
           or t.agent_code is distinct from excluded.agent_code or t.branch is distinct from coalesce(excluded.branch, t.branch)))
       returning id::text as id, status`,
      part.flatMap((k) => [
        randomUUID(),
        k.type,
        k.dedupKey,
        k.policySystem,
        k.policyNo,
        k.partySystem,
        k.partySourceId,
        k.agentCode,
        k.branch,
        k.sourceRef,
        k.openedAt,
        k.dueDate,
      ]),
    );
    touched += rows.length;
    for (const r of rows) candidates.add(r.id);
  }
  for (const part of chunked(cancel, 500)) {
    const rows = await executeBound<{ id: string }[]>(
      em,
      `update follow_up f set status = 'CANCELLED', cancel_reason = c.reason, closed_at = now(), updated_at = now()
         from (values ${marks(part.length, '(?, ?, ?, ?)')}) as c(system, policy_no, type, reason)
        where f.policy_system = c.system and f.policy_no = c.policy_no and f.type = c.type and f.status = 'OPEN' returning f.id`,
      part.flatMap((c) => [c.system, c.policyNo, c.type, c.reason]),
    );
    touched += rows.length;
  }
  // Calls noted by this change: the open tasks they may answer.
  const calls = work.interactions.filter((i) => i.type === 'FOLLOW_UP');
  const policyNos = [...new Set(calls.map((c) => c.policyNo).filter((p): p is string => p !== null))];
  const callers = calls.filter((c) => c.policyNo === null && c.partySystem !== null && c.partySourceId !== null);
  for (const part of chunked(policyNos, 500)) {
    const rows = await executeBound<{ id: string }[]>(
      em,
      `select id::text as id from follow_up where status = 'OPEN' and policy_no in (${marks(part.length)})`,
      part,
    );
    for (const r of rows) candidates.add(r.id);
  }
  for (const part of chunked(callers, 500)) {
    const rows = await executeBound<{ id: string }[]>(
      em,
      `select distinct f.id::text as id from (values ${marks(part.length, '(?, ?)')}) as c(system, source_id)
         join source_record cs on cs.system = c.system and cs.source_id = c.source_id and not cs.deleted and cs.party_id is not null
         join source_record fs on fs.party_id = cs.party_id and not fs.deleted
         join follow_up f on f.party_system = fs.system and f.party_source_id = fs.source_id and f.status = 'OPEN'`,
      part.flatMap((c) => [c.partySystem, c.partySourceId]),
    );
    for (const r of rows) candidates.add(r.id);
  }
  touched += await closeAnswered(em, [...candidates]);
  await noteComplaints(em, work.interactions);
  return touched;
}

/** Keeps the last task per key (a batch deriving the same event twice). */
function dedupe(tasks: Task[]): Task[] {
  return [...new Map(tasks.map((k) => [k.dedupKey, k])).values()];
}

/**
 * Closes the open tasks among `ids` that a FOLLOW_UP call of the matching subtype answered — on the task's
 * policy, or naming no policy but made to the task's golden customer — at or after the event (a day's slack for
 * calendar dates), and counts unanswered attempts. Idempotent: counts come from the calls, not increments.
 */
export async function closeAnswered(em: EntityManager, ids: readonly string[]): Promise<number> {
  let closed = 0;
  for (const part of chunked([...ids].sort(), 500)) {
    const subtype = `case f.type ${Object.entries(callSubtypeOf)
      .map(([k, v]) => `when '${k}' then '${v}'`)
      .join(' ')} end`;
    const calls = await executeBound<
      { id: string; system: string; source_key: string; at: Date | null; outcome: string | null }[]
    >(
      em,
      `with f as (select * from follow_up where id in (${marks(part.length, '?::uuid')}) and status = 'OPEN')
       select f.id::text as id, a.system, a.source_key, a.occurred_at as at, a.data->>'outcome' as outcome
         from f join activity a on a.policy_no = f.policy_no and a.kind = 'INTERACTION' and a.type = 'FOLLOW_UP' and not a.deleted
          and a.data->>'subtype' = ${subtype} and a.occurred_at >= f.opened_at - interval '1 day'
       union
       select f.id::text, a.system, a.source_key, a.occurred_at, a.data->>'outcome'
         from f join source_record fs on fs.system = f.party_system and fs.source_id = f.party_source_id and not fs.deleted and fs.party_id is not null
         join source_record cs on cs.party_id = fs.party_id and not cs.deleted
         join activity a on a.party_system = cs.system and a.party_source_id = cs.source_id and a.kind = 'INTERACTION' and a.type = 'FOLLOW_UP'
          and a.policy_no is null and not a.deleted and a.data->>'subtype' = ${subtype} and a.occurred_at >= f.opened_at - interval '1 day'`,
      part,
    );
    const byTask = new Map<string, typeof calls>();
    for (const c of calls) byTask.set(c.id, [...(byTask.get(c.id) ?? []), c]);
    const updates = [...byTask].map(([id, list]) => {
      list.sort((a, b) => time(a.at) - time(b.at) || a.source_key.localeCompare(b.source_key));
      const answer = list.find((c) => c.outcome !== null && closingOutcomes.includes(c.outcome));
      const attempts = answer ? list.filter((c) => time(c.at) < time(answer.at)) : list;
      const last = attempts[attempts.length - 1];
      return [
        id,
        answer ? 'DONE' : 'OPEN',
        answer ? new Date(time(answer.at)).toISOString() : null,
        answer?.system ?? null,
        answer?.source_key ?? null,
        answer?.outcome ?? null,
        attempts.length,
        last?.at ? new Date(time(last.at)).toISOString() : null,
      ];
    });
    if (updates.length === 0) continue;
    const rows = await executeBound<{ id: string }[]>(
      em,
      `update follow_up f set status = u.status, closed_at = u.closed_at, closed_by_system = u.sys, closed_by_key = u.key, outcome = u.outcome,
              attempts = u.attempts, last_attempt_at = u.last_at, updated_at = now()
         from (values ${marks(updates.length, '(?::uuid, ?, ?::timestamptz, ?, ?, ?, ?::int, ?::timestamptz)')}) as u(id, status, closed_at, sys, key, outcome, attempts, last_at)
        where f.id = u.id and f.status = 'OPEN' and (u.status <> 'OPEN' or f.attempts <> u.attempts) returning f.id`,
      updates.flat(),
    );
    closed += rows.length;
  }
  return closed;
}

const time = (d: Date | string | null) => (d === null ? 0 : new Date(d).getTime());

/** Every applied version of a complaint, kept once (its age counts from the first, reopenings are counted). */
async function noteComplaints(em: EntityManager, interactions: readonly InteractionNote[]): Promise<void> {
  const complaints = interactions.filter((i) => i.type === 'COMPLAINT');
  for (const part of chunked(complaints, 1000))
    await executeBound(
      em,
      `insert into complaint_status_event (system, source_key, source_version, status, at)
       values ${marks(part.length, '(?, ?, ?::bigint, ?, ?::timestamptz)')} on conflict do nothing`,
      part.flatMap((c) => [c.system, c.sourceKey, c.sourceVersion, c.status, c.at]),
    );
}
