/** The shapes the alert rules work on: rules, the facts loaded for a customer, findings and the changes they lead to. */

export type Rule = { code: string; kind: string; params: Record<string, unknown>; points: number; version: number };
export type Claim = {
  key: string;
  policy_no: string | null;
  reported: Date | null;
  incident: string | null;
  paid: number;
  claimed: number;
  status: string | null;
};
/** `related`: other customers the same finding concerns (a shared phone flags everyone who shares it). */
export type Finding = { evidence: Record<string, unknown>; explanation: string; related?: string[] };

export const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
export const dayDiff = (a: string, b: string) => Math.round((Date.parse(a) - Date.parse(b)) / 86_400_000);

export type Payment = { key: string; type: string | null; at: Date | null; amount: number };
/** Everything the claim rules read about one customer, loaded once per evaluation. */
export type Facts = { claims: Claim[]; payments: Payment[]; bankAccounts: string[] };
export type ActivityRow = {
  kind: string;
  key: string;
  policy_no: string | null;
  at: Date | null;
  type: string | null;
  status: string | null;
  amount: string | null;
  incident: string | null;
  paid: string | null;
  claimed: string | null;
  account: string | null;
};

export type PolicyRow = {
  policy_no: string;
  commencement: string | null;
  reinstated: string | null;
  increased: string | null;
};
/** A holder of a shared value: counted as a party of its own, or with another holder it is related to. */
export type Sharer = { customer: string; counted: boolean; countedWith?: string; why: string };
/**
 * A shared phone, address or bank account: `customers` counts unrelated parties (network-sharers.ts),
 * `holders` every golden customer holding it.
 */
export type Shared = { key: string; customers: number; holders?: number; parties: string[]; sharers?: Sharer[] };
/**
 * What the rules read beyond the customer's own claims and payments, loaded once for the whole set: the
 * policies claimed on (EARLY_CLAIM, by number) and, per network rule code, each customer's shared contacts
 * (SHARED_CONTACT, by customer).
 */
export type Context = { policies: Map<string, PolicyRow>; shared: Map<string, Map<string, Shared[]>> };

export type OpenAlert = { id: string; party_id: string; rule_code: string; evidence: unknown };
/** What the evaluation decided for one customer and rule, written after everyone in the set was evaluated. */
export type Change =
  | { kind: 'CLOSE'; partyId: string; alertId: string; ruleCode: string; reason: string }
  | { kind: 'UPDATE'; partyId: string; alertId: string; rule: Rule; finding: Finding }
  | { kind: 'OPEN'; partyId: string; rule: Rule; finding: Finding };
export const pairKey = (partyId: string, ruleCode: string) => `${partyId}\u0000${ruleCode}`;
export type PendingRow = { party_id: string; rule_code: string; held: number; queued_for: number };
