import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type {
  CanonicalChange,
  ActivityDelete,
  ActivityUpsert,
  CoverDelete,
  CoverUpsert,
  PartyDelete,
  PartyUpsert,
  PolicyDelete,
  PolicyUpsert,
  RoleDelete,
  RoleUpsert,
} from '../connectors/framework/canonical.ts';
import type { Matcher } from './match/matcher.ts';
import { recomputeParty, type HistoryCause } from './survivorship.ts';
import { lockMatchKeys, reclusterParty, resolveLink, storeMatchKeys } from './identity.ts';
import { screenParty } from '../risk/screening.ts';
import { evaluateAlerts, partyOfActivity } from '../risk/alerts.ts';

/**
 * The sync step: applies canonical changes inside the caller's transaction. Every write is guarded by the
 * source version, so a duplicate or an out-of-order older change is a no-op ("stale") and replaying a stream
 * converges to the same state. Policies, covers and roles are keyed by the source's natural keys, so a role
 * that arrives before its policy or its client is stored as is and joins up when the other side arrives.
 */
export type ApplyOutcome = 'APPLIED' | 'STALE';
export type ApplyStats = { applied: number; stale: number; partiesChanged: number };

/** What the sync step needs: the matcher, and the prefix of topics it writes to through the outbox (alerts). */
export type SyncDeps = { matcher: Matcher; topicPrefix?: string };

export async function applyChanges(em: EntityManager, changes: readonly CanonicalChange[], deps: SyncDeps, stats: ApplyStats): Promise<void> {
  for (const change of changes) {
    const outcome = await applyChange(em, change, deps, stats);
    if (outcome === 'APPLIED') stats.applied += 1;
    else stats.stale += 1;
  }
}

export function emptyStats(): ApplyStats {
  return { applied: 0, stale: 0, partiesChanged: 0 };
}

async function applyChange(em: EntityManager, change: CanonicalChange, deps: SyncDeps, stats: ApplyStats): Promise<ApplyOutcome> {
  switch (change.entity) {
    case 'party':
      return change.op === 'upsert' ? upsertParty(em, change, deps, stats) : deleteParty(em, change, deps, stats);
    case 'policy':
      return upsertPolicy(em, change);
    case 'policyCover':
      return upsertCover(em, change);
    case 'policyRole':
      return upsertRole(em, change);
    case 'activity': {
      const outcome = await upsertActivity(em, change);
      // Risk: claims and payments feed the high-claim rules of the customer they belong to.
      if (outcome === 'APPLIED' && (change.kind === 'CLAIM' || change.kind === 'PAYMENT')) {
        const party = change.op === 'upsert' ? await partyOfActivity(em, change.data.party?.system ?? null, change.data.party?.sourceId ?? null) : null;
        if (party) await evaluateAlerts(em, party, deps.topicPrefix);
      }
      return outcome;
    }
  }
}

type SourceRecordRow = { id: string; party_id: string | null; source_version: string; deleted: boolean; link_type: string };

async function lockSourceRecord(em: EntityManager, system: string, sourceId: string): Promise<SourceRecordRow | undefined> {
  const [row] = await em.execute<SourceRecordRow[]>(
    `select id, party_id, source_version::text as source_version, deleted, link_type from source_record where system = ? and source_id = ? for update`,
    [system, sourceId],
  );
  return row;
}

async function upsertParty(em: EntityManager, change: PartyUpsert, deps: SyncDeps, stats: ApplyStats): Promise<ApplyOutcome> {
  const existing = await lockSourceRecord(em, change.system, change.sourceId);
  if (existing && BigInt(existing.source_version) >= BigInt(change.sourceVersion)) return 'STALE';

  const recordId = existing?.id ?? randomUUID();
  const values = [JSON.stringify(change.raw), JSON.stringify(change.attributes), change.sourceTime, change.sourceVersion];
  if (existing) {
    await em.execute(
      `update source_record set raw = ?::jsonb, attributes = ?::jsonb, source_time = ?, source_version = ?, deleted = false, updated_at = now() where id = ?`,
      [...values, recordId],
    );
  } else {
    await em.execute(
      `insert into source_record (id, system, source_id, raw, attributes, source_time, source_version) values (?, ?, ?, ?::jsonb, ?::jsonb, ?, ?)`,
      [recordId, change.system, change.sourceId, ...values],
    );
  }

  // Identity resolution (src/sync/identity.ts): the record's blocking keys are locked so that concurrent
  // instances serialise on the same person; a steward's manual link is kept as decided.
  const keys = deps.matcher.keys(change.attributes);
  await lockMatchKeys(em, keys);
  const previousParty = existing?.party_id ?? null;
  let partyId: string;
  let cause: HistoryCause = 'SOURCE_CHANGE';
  if (existing?.link_type === 'MANUAL' && previousParty !== null) {
    partyId = previousParty;
  } else {
    const outcome = await resolveLink(em, deps.matcher, { id: recordId, system: change.system, sourceId: change.sourceId, currentPartyId: previousParty, attributes: change.attributes });
    partyId = outcome.partyId;
    if (outcome.linkType === 'NEW' && previousParty === null) cause = 'CREATED';
    else if (partyId !== previousParty) cause = 'MATCH';
  }
  await storeMatchKeys(em, recordId, keys);
  if (deps.matcher.profile) await em.execute(`update source_record set match_profile = ?::jsonb where id = ?`, [JSON.stringify(deps.matcher.profile(change.attributes)), recordId]);
  await replaceContributions(em, recordId, partyId, change);
  if ((await recomputeParty(em, partyId, cause, { record: `${change.system}/${change.sourceId}`, sourceVersion: change.sourceVersion })) === 'CHANGED') stats.partiesChanged += 1;
  // Risk: every change of a golden customer re-screens it against the blacklists (src/risk).
  await screenParty(em, partyId);
  if (previousParty !== null && previousParty !== partyId) await screenParty(em, previousParty);
  await evaluateAlerts(em, partyId, deps.topicPrefix);
  return 'APPLIED';
}

/** The golden record's identifiers and contact points are the union of its sources: one row per source value. */
async function replaceContributions(em: EntityManager, recordId: string, partyId: string, change: PartyUpsert | null): Promise<void> {
  await em.execute(`delete from party_identifier where source_record_id = ?`, [recordId]);
  await em.execute(`delete from contact_point where source_record_id = ?`, [recordId]);
  if (change === null) return;
  const ids = change.attributes.identifiers;
  if (ids.length > 0) {
    await em.execute(
      `insert into party_identifier (id, party_id, source_record_id, type, value, raw, valid, issues) values ${ids.map(() => '(?, ?, ?, ?, ?, ?, ?, ?::jsonb)').join(', ')}`,
      ids.flatMap((i) => [randomUUID(), partyId, recordId, i.type, i.value, i.raw, i.valid, JSON.stringify(i.issues)]),
    );
  }
  const cps = change.attributes.contactPoints;
  if (cps.length > 0) {
    await em.execute(
      `insert into contact_point (id, party_id, source_record_id, kind, value, raw, search_key, valid, issues, valid_from)
       values ${cps.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)').join(', ')}`,
      cps.flatMap((c) => [randomUUID(), partyId, recordId, c.kind, c.value, c.raw, c.searchKey, c.valid, JSON.stringify(c.issues), change.sourceTime]),
    );
  }
}

async function deleteParty(em: EntityManager, change: PartyDelete, deps: SyncDeps, stats: ApplyStats): Promise<ApplyOutcome> {
  const existing = await lockSourceRecord(em, change.system, change.sourceId);
  if (existing && BigInt(existing.source_version) >= BigInt(change.sourceVersion)) return 'STALE';
  if (!existing) {
    // Delete of a record never seen: remember it, so that an older create arriving late cannot resurrect it.
    await em.execute(
      `insert into source_record (id, system, source_id, source_time, source_version, deleted) values (?, ?, ?, ?, ?, true)`,
      [randomUUID(), change.system, change.sourceId, change.sourceTime, change.sourceVersion],
    );
    return 'APPLIED';
  }
  await em.execute(`update source_record set deleted = true, source_time = ?, source_version = ?, updated_at = now() where id = ?`, [
    change.sourceTime,
    change.sourceVersion,
    existing.id,
  ]);
  await em.execute(`delete from match_key where source_record_id = ?`, [existing.id]);
  await em.execute(`update review_task set status = 'OBSOLETE' where status = 'OPEN' and source_record_id = ?`, [existing.id]);
  if (existing.party_id !== null) {
    await replaceContributions(em, existing.id, existing.party_id, null);
    if ((await recomputeParty(em, existing.party_id, 'SOURCE_CHANGE', { deleted: `${change.system}/${change.sourceId}` })) === 'CHANGED') stats.partiesChanged += 1;
    // A deleted record may have been the one bridging the others: split what no longer holds together.
    await reclusterParty(em, deps.matcher, existing.party_id, `${change.system}/${change.sourceId} deleted`);
    await screenParty(em, existing.party_id);
  }
  return 'APPLIED';
}

/**
 * Natural-key upserts guarded by source version. A delete is an upsert of `deleted = true` (a tombstone row),
 * which keeps a late older create from bringing the row back.
 */
async function guardedUpsert(em: EntityManager, table: string, keyColumns: string[], columns: Record<string, unknown>): Promise<ApplyOutcome> {
  const names = Object.keys(columns);
  const updates = names.filter((n) => !keyColumns.includes(n) && n !== 'id').map((n) => `${n} = excluded.${n}`);
  const result = await em.execute<{ affectedRows: number }>(
    `insert into ${table} (${names.join(', ')}) values (${names.map(() => '?').join(', ')})
     on conflict (${keyColumns.join(', ')}) do update set ${updates.join(', ')}
     where ${table}.source_version < excluded.source_version`,
    Object.values(columns),
    'run',
  );
  return result.affectedRows > 0 ? 'APPLIED' : 'STALE';
}

function upsertPolicy(em: EntityManager, change: PolicyUpsert | PolicyDelete): Promise<ApplyOutcome> {
  const d = change.op === 'upsert' ? change.data : null;
  return guardedUpsert(em, 'policy', ['system', 'policy_no'], {
    id: randomUUID(),
    system: change.system,
    policy_no: change.policyNo,
    product_code: d?.productCode ?? null,
    status: d?.status ?? null,
    commencement_date: d?.commencementDate ?? null,
    paid_to_date: d?.paidToDate ?? null,
    sum_insured: d?.sumInsured ?? null,
    premium: d?.premium ?? null,
    billing_frequency: d?.billingFrequency ?? null,
    channel: d?.channel ?? null,
    agent_code: d?.agentCode ?? null,
    source_time: change.sourceTime,
    source_version: change.sourceVersion,
    deleted: change.op === 'delete',
  });
}

function upsertCover(em: EntityManager, change: CoverUpsert | CoverDelete): Promise<ApplyOutcome> {
  const d = change.op === 'upsert' ? change.data : null;
  return guardedUpsert(em, 'policy_cover', ['system', 'policy_no', 'coverage', 'rider'], {
    id: randomUUID(),
    system: change.system,
    policy_no: change.key.policyNo,
    coverage: change.key.coverage,
    rider: change.key.rider,
    product_code: d?.productCode ?? null,
    sum_insured: d?.sumInsured ?? null,
    premium: d?.premium ?? null,
    status: d?.status ?? null,
    source_version: change.sourceVersion,
    deleted: change.op === 'delete',
  });
}

function upsertRole(em: EntityManager, change: RoleUpsert | RoleDelete): Promise<ApplyOutcome> {
  const d = change.op === 'upsert' ? change.data : null;
  return guardedUpsert(em, 'policy_role', ['system', 'policy_no', 'client_source_id', 'role'], {
    id: randomUUID(),
    system: change.system,
    policy_no: change.key.policyNo,
    client_source_id: change.key.clientSourceId,
    role: change.key.role,
    beneficiary_order: d?.beneficiaryOrder ?? null,
    share_percent: d?.sharePercent ?? null,
    current: d?.current ?? false,
    source_version: change.sourceVersion,
    deleted: change.op === 'delete',
  });
}

function upsertActivity(em: EntityManager, change: ActivityUpsert | ActivityDelete): Promise<ApplyOutcome> {
  const d = change.op === 'upsert' ? change.data : null;
  return guardedUpsert(em, 'activity', ['kind', 'system', 'source_key'], {
    id: randomUUID(),
    kind: change.kind,
    system: change.system,
    source_key: change.sourceKey,
    party_system: d?.party?.system ?? null,
    party_source_id: d?.party?.sourceId ?? null,
    caller_phone_key: d?.callerPhoneKey ?? null,
    policy_no: d?.policyNo ?? null,
    occurred_at: d?.occurredAt ?? null,
    type: d?.type ?? null,
    status: d?.status ?? null,
    amount: d?.amount ?? null,
    data: JSON.stringify(d?.details ?? {}),
    source_version: change.sourceVersion,
    deleted: change.op === 'delete',
  });
}
