import type { ActivityKind } from '../domain/activity.ts';

/**
 * What one application of canonical changes changed, and for whom. The sync step fills it in as it writes and
 * reports it to its caller; it does not decide who cares. Risk reads it to decide whom to re-screen and
 * re-evaluate (src/risk/risk-work.ts); the composition root (src/runtime) hands it from ingest to risk.
 */
export type ChangeSet = {
  /** Golden customers whose record changed: linked, re-clustered, recomputed, created or retired. */
  customers: Set<string>;
  /** Golden customers merged into another (now MERGED aliases of the survivor). */
  mergedAway: Set<string>;
  /** Source records (system + id) that own activities that changed, with the kinds that changed. */
  activityOwners: Map<string, { system: string; sourceId: string; kinds: Set<ActivityKind> }>;
  /** Policies that changed (status, sum insured, dates). */
  policies: Map<string, { system: string; policyNo: string }>;
  /** Policies whose roles changed (who holds, insures, pays or benefits): their holders' relationships change. */
  rolePolicies: Map<string, { system: string; policyNo: string }>;
  /**
   * Follow-up calls and complaints written, one entry per version applied (a complaint reopened and resolved in
   * one batch is two entries): the customer programme closes follow-up tasks and counts reopenings from them.
   */
  interactions: InteractionNote[];
};

/** One applied version of a contact-centre interaction the customer programme reads (follow-up call, complaint). */
export type InteractionNote = {
  system: string;
  sourceKey: string;
  type: string;
  status: string | null;
  policyNo: string | null;
  partySystem: string | null;
  partySourceId: string | null;
  sourceVersion: string;
  /** ISO instant of the interaction. */
  at: string | null;
};

/** The interaction types whose versions are noted (src/connectors/contact-centre). */
export const notedInteractionTypes: ReadonlySet<string> = new Set(['FOLLOW_UP', 'COMPLAINT']);

export function emptyChangeSet(): ChangeSet {
  return {
    customers: new Set(),
    mergedAway: new Set(),
    activityOwners: new Map(),
    policies: new Map(),
    rolePolicies: new Map(),
    interactions: [],
  };
}

export function noteActivityChanged(changes: ChangeSet, system: string, sourceId: string, kind: ActivityKind): void {
  const key = `${system}\u0000${sourceId}`;
  const owner = changes.activityOwners.get(key) ?? { system, sourceId, kinds: new Set<ActivityKind>() };
  owner.kinds.add(kind);
  changes.activityOwners.set(key, owner);
}

export function notePolicyChanged(changes: ChangeSet, system: string, policyNo: string): void {
  changes.policies.set(`${system}\u0000${policyNo}`, { system, policyNo });
}

export function noteRolesChanged(changes: ChangeSet, system: string, policyNo: string): void {
  changes.rolePolicies.set(`${system}\u0000${policyNo}`, { system, policyNo });
}

export function mergeChangeSets(into: ChangeSet, from: ChangeSet): void {
  for (const id of from.customers) into.customers.add(id);
  for (const id of from.mergedAway) into.mergedAway.add(id);
  for (const o of from.activityOwners.values())
    for (const k of o.kinds) noteActivityChanged(into, o.system, o.sourceId, k);
  for (const [k, v] of from.policies) into.policies.set(k, v);
  for (const [k, v] of from.rolePolicies) into.rolePolicies.set(k, v);
  into.interactions.push(...from.interactions);
}
