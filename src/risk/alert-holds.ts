import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { marks } from '../db/sql-sets.ts';
import { type Change, type PendingRow, type Rule, num, pairKey } from './alert-types.ts';

/**
 * A rule's finding must hold for `params.holdSeconds` before its alert opens — the "for" clause of Prometheus
 * alerting rules. Rules that weigh one stream against another (claims paid against premiums paid; a customer
 * against the others sharing a phone, while their duplicates are not yet merged) see half the evidence while
 * the sources arrive, and would open alerts that close again seconds later, each published downstream.
 * A new finding is written to `alert_pending` and its customer queued for re-evaluation when the hold ends
 * (`risk_work.not_before`); an evaluation that finds it held long enough opens the alert, one that no longer
 * finds it drops it silently. 0 (the default) opens at once.
 */
export const holdSecondsOf = (rule: Rule): number => Math.ceil(Math.max(0, num(rule.params.holdSeconds, 0)));

/**
 * Turns the OPEN changes of rules with a hold into pending findings until they have held long enough; writes
 * the pending rows and the re-evaluations their holds need. A pending row stays only while its finding is an
 * OPEN change still in its hold: every other one is cleared (the finding went away, was opened or suppressed,
 * its customer is no longer active or its rule no longer in force). Returns the changes to make now.
 */
export async function holdNewFindings(
  em: EntityManager,
  changes: Change[],
  pendingOf: ReadonlyMap<string, PendingRow>,
): Promise<Change[]> {
  const made: Change[] = [];
  const held = new Set<string>();
  const starting: [string, string, number][] = [];
  const requeue: [string, string, number][] = [];
  for (const c of changes) {
    if (c.kind !== 'OPEN') {
      made.push(c);
      continue;
    }
    const hold = holdSecondsOf(c.rule);
    const pending = pendingOf.get(pairKey(c.partyId, c.rule.code));
    if (hold === 0 || (pending !== undefined && pending.held >= hold)) {
      made.push(c);
      continue;
    }
    if (pending === undefined) starting.push([c.partyId, c.rule.code, hold]);
    // Its re-evaluation was queued for another hold (the rule's changed since): queue one for this hold.
    else if (Math.abs(pending.queued_for - hold) > 0.5) requeue.push([c.partyId, c.rule.code, hold]);
    held.add(pairKey(c.partyId, c.rule.code));
  }
  const cleared = [...pendingOf.keys()].filter((k) => !held.has(k)).map((k) => k.split('\u0000') as [string, string]);
  if (cleared.length > 0)
    await executeBound(
      em,
      `delete from alert_pending where (party_id, rule_code) in (${marks(cleared.length, '(?::uuid, ?)')})`,
      cleared.flat(),
    );
  if (starting.length > 0) {
    // From the moment of writing (one reading of the clock for both), not the transaction's start: a long worker
    // round or import batch must not count its own running time as hold.
    await executeBound(
      em,
      `insert into alert_pending (party_id, rule_code, since, due_at) select v.party_id, v.rule_code, t.at, t.at + make_interval(secs => v.hold)
         from (values ${marks(starting.length, '(?::uuid, ?, ?::int)')}) as v(party_id, rule_code, hold) cross join (select clock_timestamp() as at) as t
       on conflict (party_id, rule_code) do nothing`,
      starting.flat(),
    );
  }
  if (requeue.length > 0) {
    await executeBound(
      em,
      `update alert_pending p set due_at = p.since + make_interval(secs => v.hold) from (values ${marks(requeue.length, '(?::uuid, ?, ?::int)')}) as v(party_id, rule_code, hold)
        where p.party_id = v.party_id and p.rule_code = v.rule_code`,
      requeue.flat(),
    );
  }
  // One queued re-evaluation per due time, naming its customers, by the database's clock (the worker takes work
  // whose not_before has passed, and an evaluation measures the hold by the same clock). The row has the shape
  // of QueuedWork (risk-work.ts), built in SQL from the pending rows' exact due times (risk-work.ts imports
  // this module, so queueRiskWork is not called from here).
  const due = [...starting, ...requeue].map(([partyId, ruleCode]) => [partyId, ruleCode] as const);
  if (due.length > 0) {
    await executeBound(
      em,
      `insert into risk_work (work, not_before)
       select jsonb_build_object('screen', '[]'::jsonb, 'evaluate', jsonb_agg(distinct p.party_id::text), 'activityOwners', '[]'::jsonb, 'policies', '[]'::jsonb), p.due_at
         from alert_pending p join (values ${marks(due.length, '(?::uuid, ?)')}) as v(party_id, rule_code) on p.party_id = v.party_id and p.rule_code = v.rule_code
        group by p.due_at`,
      due.flat(),
    );
  }
  return made;
}
