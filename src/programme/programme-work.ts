import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { parkAfter, settleQueue } from '../db/work-queue.ts';
import { preferIndexLookupsLocally } from '../db/local-settings.ts';
import { executeBound } from '../db/bound-sql.ts';
import { chunked, marks } from '../db/sql-sets.ts';
import type { ChangeSet, InteractionNote } from '../sync/change-set.ts';
import { loadProgrammeConfig } from './config.ts';
import { deriveFollowUps } from './follow-ups.ts';
import { refreshValues, today } from './value.ts';

/**
 * The customer programme's follow-up of an applied batch, beside risk's: from the sync change set, whose value
 * to recompute (customers whose record changed or merged away, the payers and claimants of changed payments and
 * claims, the holders of changed policies) and which follow-ups to derive or close. Like risk, streaming ingest
 * only queues it (`programme_work`, in the ingest transaction) and the programme worker settles it after commit;
 * file imports and demo loads settle it in their transaction. This folder imports neither ingest nor risk.
 */
export type ProgrammeWork = {
  customers: Set<string>;
  /** Source records (system + id) whose payments or claims changed. */
  owners: Map<string, { system: string; sourceId: string; claims: boolean }>;
  /** Policies that changed or whose roles changed. */
  policies: Map<string, { system: string; policyNo: string }>;
  interactions: InteractionNote[];
  /** Agents recorded as departed: their policies' follow-ups and holders' values are re-derived. */
  agents: Set<string>;
};

export function newProgrammeWork(): ProgrammeWork {
  return { customers: new Set(), owners: new Map(), policies: new Map(), interactions: [], agents: new Set() };
}

export function programmeWorkOf(changed: ChangeSet): ProgrammeWork {
  const work = newProgrammeWork();
  for (const id of changed.customers) work.customers.add(id);
  for (const id of changed.mergedAway) work.customers.add(id);
  for (const [k, o] of changed.activityOwners)
    if (o.kinds.has('PAYMENT') || o.kinds.has('CLAIM'))
      work.owners.set(k, { system: o.system, sourceId: o.sourceId, claims: o.kinds.has('CLAIM') });
  for (const [k, p] of changed.policies) work.policies.set(k, p);
  for (const [k, p] of changed.rolePolicies) work.policies.set(k, p);
  work.interactions.push(...changed.interactions);
  return work;
}

export function isEmptyProgrammeWork(w: ProgrammeWork): boolean {
  return (
    w.customers.size === 0 &&
    w.owners.size === 0 &&
    w.policies.size === 0 &&
    w.interactions.length === 0 &&
    w.agents.size === 0
  );
}

/** The work as stored in `programme_work` (JSON). */
type QueuedWork = {
  c?: string[];
  o?: [string, string, boolean][];
  p?: [string, string][];
  i?: InteractionNote[];
  a?: string[];
};

export async function queueProgrammeWork(em: EntityManager, work: ProgrammeWork): Promise<void> {
  if (isEmptyProgrammeWork(work)) return;
  const q: QueuedWork = {
    c: [...work.customers],
    o: [...work.owners.values()].map((o) => [o.system, o.sourceId, o.claims]),
    p: [...work.policies.values()].map((p) => [p.system, p.policyNo]),
    i: work.interactions,
    a: [...work.agents],
  };
  await executeBound(em, `insert into programme_work (work) values (?::jsonb)`, [JSON.stringify(q)]);
}

function addQueued(work: ProgrammeWork, q: QueuedWork): void {
  for (const id of q.c ?? []) work.customers.add(id);
  for (const [system, sourceId, claims] of q.o ?? []) {
    const k = `${system}\u0000${sourceId}`;
    work.owners.set(k, { system, sourceId, claims: claims || (work.owners.get(k)?.claims ?? false) });
  }
  for (const [system, policyNo] of q.p ?? []) work.policies.set(`${system}\u0000${policyNo}`, { system, policyNo });
  work.interactions.push(...(q.i ?? []));
  for (const a of q.a ?? []) work.agents.add(a);
}

/**
 * The follow-up as the runtime wires it into ingest: `queue` (streaming) or `settle` (file and demo loads).
 */
export function programmeFollowUp(mode: 'queue' | 'settle') {
  return mode === 'queue'
    ? {
        phase: 'programme-queue',
        run: (em: EntityManager, changed: ChangeSet) => queueProgrammeWork(em, programmeWorkOf(changed)),
      }
    : {
        phase: 'programme',
        run: async (em: EntityManager, changed: ChangeSet) => {
          await settleProgrammeWork(em, programmeWorkOf(changed));
        },
      };
}

/** Settles the work: values of everyone it concerns, then follow-ups. Returns the rows changed. */
export async function settleProgrammeWork(em: EntityManager, work: ProgrammeWork): Promise<number> {
  if (isEmptyProgrammeWork(work)) return 0;
  // Everything below looks up the given customers' records, policies and activities by key (as risk settlement).
  await preferIndexLookupsLocally(em);
  const config = await loadProgrammeConfig(em);
  const day = await today(em);
  const parties = new Set(work.customers);
  const policies = new Map(work.policies);
  for (const part of chunked([...work.agents], 500)) {
    const rows = await executeBound<{ system: string; policy_no: string }[]>(
      em,
      `select system, policy_no from policy where agent_code in (${marks(part.length)}) and not deleted`,
      part,
    );
    for (const r of rows) policies.set(`${r.system}\u0000${r.policy_no}`, { system: r.system, policyNo: r.policy_no });
  }
  for (const part of chunked([...work.owners.values()], 1000)) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id::text as party_id from (values ${marks(part.length, '(?, ?)')}) as o(system, source_id)
         join source_record sr on sr.system = o.system and sr.source_id = o.source_id where not sr.deleted and sr.party_id is not null`,
      part.flatMap((o) => [o.system, o.sourceId]),
    );
    for (const r of rows) parties.add(r.party_id);
  }
  for (const part of chunked([...policies.values()], 1000)) {
    const rows = await executeBound<{ party_id: string }[]>(
      em,
      `select distinct sr.party_id::text as party_id from (values ${marks(part.length, '(?, ?)')}) as p(system, policy_no)
         join policy_role pr on pr.system = p.system and pr.policy_no = p.policy_no and pr.role = 'POLICYHOLDER'
         join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id and not sr.deleted where sr.party_id is not null`,
      part.flatMap((p) => [p.system, p.policyNo]),
    );
    for (const r of rows) parties.add(r.party_id);
  }
  let changed = await refreshValues(em, parties, config, day);
  changed += await deriveFollowUps(
    em,
    {
      policies: [...policies.values()],
      claimOwners: [...work.owners.values()].filter((o) => o.claims),
      interactions: work.interactions,
    },
    config.thresholds,
    day,
  );
  return changed;
}

export { parkAfter };

/** Settles up to `limit` queued rows together, one settlement at a time across instances (src/db/work-queue.ts). */
export function settleQueuedProgrammeWork(
  orm: MikroORM,
  opts: { limit?: number; failures?: number; logger?: Logger } = {},
): Promise<number> {
  return settleQueue<QueuedWork>(
    orm,
    {
      table: 'programme_work',
      label: 'programme work',
      turn: programmeTurn,
      settle: async (em, queued) => {
        const work = newProgrammeWork();
        for (const q of queued) addQueued(work, q);
        await settleProgrammeWork(em, work);
      },
    },
    { limit: opts.limit ?? 200, failures: opts.failures, logger: opts.logger },
  );
}

/** One programme settlement (queued work or a job's chunk) at a time across hub instances. */
export async function programmeTurn(em: EntityManager): Promise<boolean> {
  const [turn] = await executeBound<{ ok: boolean }[]>(
    em,
    `select pg_try_advisory_xact_lock(hashtextextended('hub:programme-worker', 0)) as ok`,
  );
  return turn?.ok === true;
}
