import { bankAccountSql } from './activity-fields.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { marks } from '../db/sql-sets.ts';
import { buildingLevelAddress } from '../domain/normalize/address.ts';
import { claimedPolicies, networkParams } from './alert-rules.ts';
import { countUnrelated } from './network-sharers.ts';
import { type ActivityRow, type Context, type Facts, type PolicyRow, type Rule, type Shared } from './alert-types.ts';

/**
 * What the alert rules read, loaded set-based for a whole set of customers: their claims and payments, the
 * policies claimed on, and for network rules the contact points and bank accounts they share with others.
 */

/**
 * The customers' claims and payments, through the source records linked to them. Two steps with literal keys
 * rather than one join: the plan stays an index lookup even on tables whose statistics lag a bulk load.
 */
export async function factsOfParties(em: EntityManager, partyIds: readonly string[]): Promise<Map<string, Facts>> {
  const rowsOf = new Map<string, ActivityRow[]>(partyIds.map((id) => [id, []]));
  const records =
    partyIds.length === 0
      ? []
      : await executeBound<{ party_id: string; system: string; source_id: string }[]>(
          em,
          `select party_id, system, source_id from source_record where party_id in (${marks(partyIds.length)}) and not deleted`,
          [...partyIds],
        );
  if (records.length > 0) {
    const owner = new Map(records.map((r) => [`${r.system}\u0000${r.source_id}`, r.party_id]));
    const rows = await executeBound<(ActivityRow & { party_system: string; party_source_id: string })[]>(
      em,
      `select a.party_system, a.party_source_id, a.kind, a.source_key as key, a.policy_no, a.occurred_at as at, a.type, a.status, a.amount::text as amount, a.data->>'incidentDate' as incident,
              a.data->>'paidAmount' as paid, a.data->>'claimedAmount' as claimed, ${bankAccountOf} as account
         from (values ${marks(records.length, '(?, ?)')}) as owner(system, source_id)
         join activity a on a.party_system = owner.system and a.party_source_id = owner.source_id
        where a.kind in ('CLAIM', 'PAYMENT') and not a.deleted`,
      records.flatMap((r) => [r.system, r.source_id]),
    );
    // Each customer's rows keep the order the statement returned them in (as when it was read alone).
    for (const r of rows) rowsOf.get(owner.get(`${r.party_system}\u0000${r.party_source_id}`) as string)?.push(r);
  }
  const date = (v: Date | null) => (v ? new Date(v) : null);
  return new Map(
    [...rowsOf].map(([id, rows]) => [
      id,
      {
        claims: rows
          .filter((r) => r.kind === 'CLAIM')
          .map((r) => ({
            key: r.key,
            policy_no: r.policy_no,
            reported: date(r.at),
            incident: r.incident,
            paid: Number(r.paid ?? 0),
            claimed: Number(r.claimed ?? 0),
            status: r.status,
          })),
        payments: rows
          .filter((r) => r.kind === 'PAYMENT')
          .map((r) => ({ key: r.key, type: r.type, at: date(r.at), amount: Number(r.amount ?? 0) })),
        bankAccounts: [
          ...new Set(rows.map((r) => r.account).filter((a): a is string => a !== null && a !== '')),
        ].sort(),
      },
    ]),
  );
}

/** Policies by number: the first row the statement returns for a number counts, as it did per customer. */
export async function policiesOf(em: EntityManager, policyNos: readonly string[]): Promise<Map<string, PolicyRow>> {
  const byNo = new Map<string, PolicyRow>();
  if (policyNos.length === 0) return byNo;
  const rows = await executeBound<PolicyRow[]>(
    em,
    `select policy_no, to_char(commencement_date, 'YYYY-MM-DD') as commencement, to_char(reinstated_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as reinstated,
            to_char(sum_insured_increased_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as increased
       from policy where not deleted and policy_no in (${marks(policyNos.length)})`,
    [...policyNos],
  );
  for (const r of rows) if (!byNo.has(r.policy_no)) byNo.set(r.policy_no, r);
  return byNo;
}

/**
 * Per customer of the set, the phones or addresses it shares with at least `min` golden customers (itself
 * included), grouped by customer and key. An empty key (an address of placeholders, "-" or "#", normalised to
 * nothing) is no address: customers who gave none are not a network. Nor is an address written to the building only
 * (`buildingLevelAddress`: no flat): at a million generated customers 99.6 % of the customers the address rule held
 * were neighbours at such an address (bench:scale; docs/review-queue-quality.md) — a ring that gives only a building
 * is not found by the address rule (its phones and accounts still count).
 */
export async function sharedContactPoints(
  em: EntityManager,
  partyIds: readonly string[],
  kinds: string[],
  min: number,
): Promise<Map<string, Shared[]>> {
  const rows = await executeBound<(Shared & { subject: string })[]>(
    em,
    // The holders of each of the set's keys looked up per key (lateral, kept apart by OFFSET 0): as one join the
    // planner hashed the whole contact_point table for a round's thousand customers (65 ms on bench:ingest's store
    // of 28,000 contact points, growing with the store; 26 ms this way). A key a customer holds twice counts once.
    `select s.party_id as subject, s.search_key as key, count(distinct o.party_id)::int as customers, array_agg(distinct o.party_id::text) as parties
       from (select distinct cp.party_id, cp.kind, cp.search_key from contact_point cp
              where cp.party_id = any(?::uuid[]) and cp.kind = any(?::text[]) and cp.search_key is not null and cp.search_key <> ''
                and not (cp.kind = 'ADDRESS' and cp.search_key ~ ?)) as s
       cross join lateral (
         select other.party_id from contact_point other join party op on op.id = other.party_id and op.status = 'ACTIVE'
          where other.search_key = s.search_key and other.kind = s.kind offset 0) as o
      group by 1, 2 having count(distinct o.party_id) >= ? order by 1, 2`,
    [partyIds, kinds, buildingLevelAddress, min],
    { prepared: true },
  );
  const byParty = new Map<string, Shared[]>();
  for (const { subject, ...shared } of rows) byParty.set(subject, [...(byParty.get(subject) ?? []), shared]);
  return byParty;
}

/** Bank accounts come with payments (the debited account) and claims (the payee's account). */
export const bankAccountOf = `regexp_replace(${bankAccountSql('a', ['PAYMENT', 'CLAIM'])}, '[^0-9A-Za-z]', '', 'g')`;

/**
 * Per customer of the set, its bank accounts used by at least `min` golden customers: the accounts of everyone
 * in the set are looked up at once (a shared account's count does not depend on who asks) and handed back to
 * the customers they belong to.
 */
export async function sharedBankAccounts(
  em: EntityManager,
  accountsOf: Map<string, readonly string[]>,
  min: number,
): Promise<Map<string, Shared[]>> {
  const accounts = [...new Set([...accountsOf.values()].flat())];
  const byParty = new Map<string, Shared[]>();
  if (accounts.length === 0) return byParty;
  const rows = await executeBound<Shared[]>(
    em,
    // Per account (lateral, kept apart by OFFSET 0): an index lookup each. As one IN list the planner expected
    // half the activity table to match and scanned it, evaluating the expression on every row (~100 ms a batch).
    `select t.k as key, count(distinct c.party_id)::int as customers, array_agg(distinct c.party_id::text) as parties
       from (values ${marks(accounts.length, '(?)')}) as t(k) cross join lateral (
         select sr.party_id from activity a
           join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
           join party op on op.id = sr.party_id and op.status = 'ACTIVE'
          where ${bankAccountOf} = t.k and not a.deleted and a.kind in ('PAYMENT', 'CLAIM') offset 0) as c
      group by 1 having count(distinct c.party_id) >= ? order by 1`,
    [...accounts, min],
  );
  for (const [partyId, own] of accountsOf) {
    const mine = new Set(own);
    const shared = rows.filter((r) => mine.has(r.key));
    if (shared.length > 0) byParty.set(partyId, shared);
  }
  return byParty;
}

/** Loads what the rules read beyond each customer's facts, for the whole set: a statement per rule that needs one. */
export async function contextOf(
  em: EntityManager,
  rules: readonly Rule[],
  facts: Map<string, Facts>,
  revisit?: Set<string>,
): Promise<Context> {
  const context: Context = { policies: new Map(), shared: new Map() };
  const partyIds = [...facts.keys()];
  if (rules.some((r) => r.kind === 'EARLY_CLAIM'))
    context.policies = await policiesOf(em, [...new Set([...facts.values()].flatMap(claimedPolicies))]);
  for (const rule of rules) {
    if (rule.kind !== 'SHARED_CONTACT') continue;
    const { contact, min, maxCustomers } = networkParams(rule.params);
    const raw =
      contact === 'BANK_ACCOUNT'
        ? await sharedBankAccounts(em, new Map([...facts].map(([id, f]) => [id, f.bankAccounts])), min)
        : await sharedContactPoints(em, partyIds, contact === 'ADDRESS' ? ['ADDRESS'] : ['MOBILE', 'LANDLINE'], min);
    context.shared.set(rule.code, await countUnrelated(em, contact, raw, { min, maxCustomers }, revisit));
  }
  return context;
}

/** The golden customers that now hold the phones, addresses or bank accounts an alert's evidence names. */
export async function holdersOf(em: EntityManager, evidence: unknown): Promise<string[]> {
  const e = (evidence ?? {}) as {
    phones?: { key: string }[];
    addresses?: { key: string }[];
    bankAccounts?: { key: string }[];
  };
  const keys = (list?: { key: string }[]) => (list ?? []).map((x) => x.key);
  const contact = [...keys(e.phones), ...keys(e.addresses)];
  const accounts = keys(e.bankAccounts);
  const ids: string[] = [];
  if (contact.length > 0) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct party_id from contact_point where search_key in (${marks(contact.length)})`,
      contact,
    );
    ids.push(...rows.map((r) => r.party_id));
  }
  if (accounts.length > 0) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id from activity a join source_record sr on sr.system = a.party_system and sr.source_id = a.party_source_id and not sr.deleted
        where ${bankAccountOf} in (${marks(accounts.length)}) and not a.deleted and a.kind in ('PAYMENT', 'CLAIM') and sr.party_id is not null`,
      accounts,
    );
    ids.push(...rows.map((r) => r.party_id));
  }
  return [...new Set(ids)];
}
