import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks, uniqueIds } from '../db/sql-sets.ts';
import { stableJson } from '../domain/stable-json.ts';
import { type Change, type Facts, type OpenAlert, type PendingRow, type Rule, pairKey } from './alert-types.ts';
import { evaluateRule } from './alert-rules.ts';
import { contextOf, factsOfParties, holdersOf } from './alert-facts.ts';
import { holdNewFindings, holdSecondsOf } from './alert-holds.ts';

export { holdSecondsOf };
export type { Rule };

/**
 * High-claim alert rules, evaluated incrementally for the customers whose claims, payments or policies a batch
 * changed (and for everyone by `hub risk rescan`). Rules are rows of `alert_rule` (parameters, points,
 * enabled, versioned); this module only knows how each kind is computed. One alert per customer and rule stays
 * open and is updated as its evidence grows; a closed alert with a suppression window is not reopened inside
 * it. Every opened or updated alert is written to the outbox in the same transaction (published to Kafka).
 *
 * A set of customers is evaluated with a constant number of statements: everything the rules read is loaded
 * for the whole set first (statuses, open alerts, claims and payments, policies, one network query per
 * network rule), the rules are evaluated in memory, and only what changed is written. A customer's evaluation
 * reads its own alerts and the shared data (contact points, activities, policies), never another customer's
 * alerts — so evaluating the set at once gives what evaluating its members one after the other would.
 */
/** The enabled rules, in code order; load once per batch and pass to evaluateAlertsForParties. */
export function enabledRules(em: EntityManager): Promise<Rule[]> {
  return executeBound<Rule[]>(
    em,
    `select code, kind, params, points, version from alert_rule where enabled order by code`,
  );
}

/**
 * Evaluates every enabled rule for a set of customers; returns the number of alerts opened, updated or closed.
 * `related` collects other customers a finding also concerns (the others sharing a flagged phone), for the
 * caller to evaluate too — otherwise only the customer whose change crossed the threshold would be flagged.
 * Works in slices of 500 customers, each with a constant number of statements (holdersOf aside, which runs
 * per closed network alert, rarely).
 */
export async function evaluateAlertsForParties(
  em: EntityManager,
  partyIds: readonly string[],
  topicPrefix = '',
  related?: Set<string>,
  rulesInForce?: Rule[],
): Promise<number> {
  let rules: Promise<Rule[]> | undefined = rulesInForce ? Promise.resolve(rulesInForce) : undefined;
  const rulesOnce = () => (rules ??= enabledRules(em));
  let changed = 0;
  for (const slice of chunked(uniqueIds(partyIds)))
    changed += await evaluateSlice(em, slice, topicPrefix, related, rulesOnce);
  return changed;
}

/** Evaluates every enabled rule for one customer (a set of one); returns the number of alerts opened, updated or closed. */
export async function evaluateAlerts(
  em: EntityManager,
  partyId: string,
  topicPrefix = '',
  related?: Set<string>,
  rulesInForce?: Rule[],
): Promise<number> {
  return evaluateAlertsForParties(em, [partyId], topicPrefix, related, rulesInForce);
}

async function evaluateSlice(
  em: EntityManager,
  partyIds: readonly string[],
  topicPrefix: string,
  related: Set<string> | undefined,
  rulesInForce: () => Promise<Rule[]>,
): Promise<number> {
  const statuses = await executeBound<{ id: string; status: string }[]>(
    em,
    `select id, status from party where id in (${marks(partyIds.length)})`,
    [...partyIds],
  );
  const statusOf = new Map(statuses.map((r) => [r.id, r.status]));
  const present = partyIds.filter((id) => statusOf.has(id));
  if (present.length === 0) return 0;
  // Locked in one order (customer, rule) whatever the set, as the one-customer evaluations locked them in turn.
  const openRows = await executeBound<OpenAlert[]>(
    em,
    `select id, party_id, rule_code, evidence from alert where party_id in (${marks(present.length)}) and status <> 'CLOSED' order by party_id, rule_code for update`,
    present,
  );
  const openOf = new Map<string, Map<string, OpenAlert>>();
  for (const r of openRows)
    openOf.set(r.party_id, (openOf.get(r.party_id) ?? new Map<string, OpenAlert>()).set(r.rule_code, r));
  // Findings in their hold (see holdSecondsOf): how long each has held, by the database's clock — the clock the
  // queued re-evaluation is due by — and when that re-evaluation was queued for. Locked like the alerts (after
  // them, in the same order): an evaluation that keeps a finding pending relies on the queued re-evaluation,
  // which must not decide on data the keeping transaction has not committed yet.
  const pendingRows = await executeBound<PendingRow[]>(
    em,
    `select party_id, rule_code, extract(epoch from now() - since)::float8 as held, extract(epoch from due_at - since)::float8 as queued_for
       from alert_pending where party_id in (${marks(present.length)}) order by party_id, rule_code for update`,
    present,
  );
  const pendingOf = new Map(pendingRows.map((r) => [pairKey(r.party_id, r.rule_code), r]));
  const active = present.filter((id) => statusOf.get(id) === 'ACTIVE');
  const rules = active.length > 0 ? await rulesInForce() : [];
  const facts = active.length > 0 ? await factsOfParties(em, active) : new Map<string, Facts>();
  // A value that just became frequent (a proposed exclusion) no longer counts: its holders are evaluated too.
  const context = await contextOf(em, rules, facts, related);

  // Customers in the order given and rules in code order: the outbox gets the events in the order the
  // one-customer evaluations wrote them.
  const changes: Change[] = [];
  for (const partyId of present) {
    const open = openOf.get(partyId) ?? new Map<string, OpenAlert>();
    const status = statusOf.get(partyId);
    // Alerts whose condition no longer holds are closed by the system with the reason, not left stating evidence
    // that is gone: a merged customer's alerts (the survivor is evaluated with all the evidence), an inactive
    // customer's, and a rule's whose finding disappeared (claims left the window, a shared phone turned out to be
    // one person's after a merge).
    if (status !== 'ACTIVE') {
      for (const a of open.values())
        changes.push({
          kind: 'CLOSE',
          partyId,
          alertId: a.id,
          ruleCode: a.rule_code,
          reason: status === 'MERGED' ? 'CUSTOMER_MERGED' : 'CUSTOMER_INACTIVE',
        });
      continue;
    }
    const own = facts.get(partyId) as Facts;
    for (const rule of rules) {
      const finding = evaluateRule(partyId, rule, own, context);
      const current = open.get(rule.code);
      if (!finding) {
        if (current) {
          changes.push({
            kind: 'CLOSE',
            partyId,
            alertId: current.id,
            ruleCode: rule.code,
            reason: 'CONDITION_NO_LONGER_MET',
          });
          // Leaving a network can dissolve it for the others too: whoever still holds the keys is evaluated.
          if (rule.kind === 'SHARED_CONTACT' && related)
            for (const id of await holdersOf(em, current.evidence)) if (id !== partyId) related.add(id);
        }
        continue;
      }
      if (current) {
        if (stableJson(current.evidence) === stableJson(finding.evidence)) continue;
        // Only a finding that changed can change the others' (a new member, one fewer): unchanged, the network
        // is as its members' alerts already say, and re-evaluating all of them would cost O(network) per event.
        for (const id of finding.related ?? []) related?.add(id);
        changes.push({ kind: 'UPDATE', partyId, alertId: current.id, rule, finding });
      } else {
        for (const id of finding.related ?? []) related?.add(id);
        changes.push({ kind: 'OPEN', partyId, rule, finding });
      }
    }
  }

  // A rule closed with a suppression window is not reopened inside it.
  const opening = changes.flatMap((c) => (c.kind === 'OPEN' ? [[c.partyId, c.rule.code]] : []));
  const suppressed = new Set(
    opening.length === 0
      ? []
      : (
          await executeBound<{ party_id: string; rule_code: string }[]>(
            em,
            `select distinct party_id, rule_code from alert where status = 'CLOSED' and suppressed_until > now() and (party_id, rule_code) in (${marks(opening.length, '(?::uuid, ?)')})`,
            opening.flat(),
          )
        ).map((r) => pairKey(r.party_id, r.rule_code)),
  );
  const made = await holdNewFindings(
    em,
    changes.filter((c) => c.kind !== 'OPEN' || !suppressed.has(pairKey(c.partyId, c.rule.code))),
    pendingOf,
  );
  if (made.length === 0) return 0;

  const closes = made.flatMap((c) => (c.kind === 'CLOSE' ? [c] : []));
  if (closes.length > 0) {
    await executeBound(
      em,
      `update alert set status = 'CLOSED', closed_by = 'system', closed_reason = v.reason, updated_at = now()
         from (values ${marks(closes.length, '(?::uuid, ?::text)')}) as v(id, reason) where alert.id = v.id`,
      closes.flatMap((c) => [c.alertId, c.reason]),
    );
  }
  const updates = made.flatMap((c) => (c.kind === 'UPDATE' ? [c] : []));
  if (updates.length > 0) {
    await executeBound(
      em,
      `update alert set evidence = v.evidence, explanation = v.explanation, points = v.points, rule_version = v.rule_version, updated_at = now()
         from (values ${marks(updates.length, '(?::uuid, ?::jsonb, ?::text, ?::int, ?::int)')}) as v(id, evidence, explanation, points, rule_version) where alert.id = v.id`,
      updates.flatMap((c) => [
        c.alertId,
        JSON.stringify(c.finding.evidence),
        c.finding.explanation,
        c.rule.points,
        c.rule.version,
      ]),
    );
  }
  const opens = made.flatMap((c) => (c.kind === 'OPEN' ? [c] : []));
  const opened = new Map<string, string>();
  if (opens.length > 0) {
    const rows = await executeBound<{ id: string; party_id: string; rule_code: string }[]>(
      em,
      `insert into alert (id, party_id, rule_code, rule_version, status, points, evidence, explanation)
       values ${marks(opens.length, "(gen_random_uuid(), ?, ?, ?, 'OPEN', ?, ?::jsonb, ?)")} returning id, party_id, rule_code`,
      opens.flatMap((c) => [
        c.partyId,
        c.rule.code,
        c.rule.version,
        c.rule.points,
        JSON.stringify(c.finding.evidence),
        c.finding.explanation,
      ]),
    );
    for (const r of rows) opened.set(pairKey(r.party_id, r.rule_code), r.id);
  }
  // Every change goes to the outbox in the same transaction (published to Kafka after commit).
  const at = new Date().toISOString();
  const events = made.map((c) => {
    const [event, alertId, rule, evidence, explanation] =
      c.kind === 'CLOSE'
        ? (['ALERT_CLOSED', c.alertId, { code: c.ruleCode, version: null, points: null }, null, c.reason] as const)
        : c.kind === 'UPDATE'
          ? (['ALERT_UPDATED', c.alertId, c.rule, c.finding.evidence, c.finding.explanation] as const)
          : ([
              'ALERT_OPENED',
              opened.get(pairKey(c.partyId, c.rule.code)) as string,
              c.rule,
              c.finding.evidence,
              c.finding.explanation,
            ] as const);
    return [
      `${topicPrefix}hub.risk-alerts.v1`,
      c.partyId,
      JSON.stringify({
        event,
        alertId,
        customerId: c.partyId,
        rule: rule.code,
        ruleVersion: rule.version,
        points: rule.points,
        evidence,
        explanation,
        at,
      }),
    ];
  });
  await executeBound(
    em,
    `insert into outbox (id, topic, message_key, payload) values ${marks(events.length, '(gen_random_uuid(), ?, ?, ?::jsonb)')}`,
    events.flat(),
  );
  return made.length;
}
