import { createHash } from 'node:crypto';
import { marks } from '../db/sql-sets.ts';
import { executeBound } from '../db/bound-sql.ts';
import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import type { CanonicalChange } from '../domain/canonical.ts';
import { mapWithManifest, type SourceMessage } from '../connectors/framework/connector.ts';
import { MappingError } from '../connectors/framework/errors.ts';
import { addPartyLockKeys, applyChanges, lockPartyKeys, type SyncDeps } from '../sync/apply-changes.ts';
import { addStats, emptyStats, type ApplyStats } from '../sync/apply-stats.ts';
import { applyFacts, isFact } from '../sync/apply-facts.ts';
import { type ChangeSet, emptyChangeSet, mergeChangeSets } from '../sync/change-set.ts';
import type { Route } from './topic-router.ts';
import { applyPhaseSeconds, ingestTransactionsTotal, sqlStateOf } from '../observability/metrics.ts';

/**
 * Applies one batch of messages from one topic partition in ONE database transaction together with the
 * consumed position (consumer_offset). This is the exactly-once effect: the position and the effects commit or
 * roll back together; messages below the stored position are skipped on redelivery. Kafka's own committed
 * offset is only advanced after this transaction has committed (see kafka-consumer.ts).
 *
 * Bad messages never stop the partition: mapping failures and rows the database rejects as invalid data are
 * written to `quarantined_event` with their position and reason, and the rest of the batch is applied.
 *
 * Throughput: messages that only carry facts (policies, roles, payments, claims, …) are applied together in
 * one set-based step; the party changes of all messages go through set-based identity resolution together
 * (src/sync/apply-parties.ts), in their order, inside one savepoint.
 * Only if the database rejects a step is it re-applied one message per savepoint to find the culprit. The
 * change set of the whole batch (src/sync/change-set.ts) goes to the follow-up the runtime wired in (risk:
 * settled in the same transaction, or — for streaming ingest — queued in it for the risk worker).
 */
/**
 * What happens with each transaction's change set, inside that transaction: ingest does not know who follows
 * up; the composition root (src/runtime) wires risk in. `phase` names its time in hub_apply_phase_seconds.
 */
export type FollowUp = { phase: string; run(em: EntityManager, changed: ChangeSet): Promise<void> };
/** What ingest needs: the sync step's dependencies and the follow-up of what each transaction changed. */
export type IngestDeps = SyncDeps & {
  followUp: FollowUp;
  /** Values longer than this are quarantined unmapped (HUB_MAX_MESSAGE_BYTES; default 1 MiB). */
  maxMessageBytes?: number;
  /** Advisory locks one transaction takes at most (HUB_INGEST_MAX_KEY_LOCKS; default `defaultMaxKeyLocks`). */
  maxKeyLocks?: number;
  /** Asked between the transactions of a group over that budget: true ends the group there (shutdown). */
  isStopping?: () => boolean;
};

export const defaultMaxMessageBytes = 1024 * 1024;
/**
 * Each blocking key and source record a transaction locks (lockPartyKeys) holds a slot in the server's shared
 * lock table until it ends, and that table is small: max_locks_per_transaction × max_connections, 6,400 slots on
 * a default server, shared by every session of every database. A catch-up transaction of 1,276 client changes
 * took 7,679 such locks and failed with "out of shared memory" — the other sessions' statements with it
 * (migrations on the same server, in CI). So a transaction takes at most this many; more messages are applied
 * in several transactions one after the other (`applyBatches`).
 */
export const defaultMaxKeyLocks = 1_000;

export type BatchResult = {
  applied: number;
  stale: number;
  partiesChanged: number;
  skipped: number;
  quarantined: number;
  nextOffset: string | null;
  rejected: { offset: string; code: string; reason: string }[];
  latestSourceTime: Date | null;
};

/** Adds the result of a later transaction of the same part (its messages after `into`'s) to `into`. */
export function addBatchResult(into: BatchResult, r: BatchResult): void {
  into.applied += r.applied;
  into.stale += r.stale;
  into.partiesChanged += r.partiesChanged;
  into.skipped += r.skipped;
  into.quarantined += r.quarantined;
  into.nextOffset = r.nextOffset ?? into.nextOffset;
  into.rejected.push(...r.rejected);
  if (r.latestSourceTime && (into.latestSourceTime === null || r.latestSourceTime > into.latestSourceTime))
    into.latestSourceTime = r.latestSourceTime;
}

/** A result that counts nothing yet. */
export const emptyBatchResult = (): BatchResult => ({
  applied: 0,
  stale: 0,
  partiesChanged: 0,
  skipped: 0,
  quarantined: 0,
  nextOffset: null,
  rejected: [],
  latestSourceTime: null,
});

/**
 * Messages of one topic partition, in offset order; `mapped` when the caller already mapped them (the consumer
 * does, while the previous transaction is still running, so mapping is not on the transaction's clock).
 */
export type BatchPart = {
  route: Route;
  partition: number;
  messages: readonly SourceMessage[];
  mapped?: readonly Mapped[];
  /** Whose positions these messages advance, when not the reader's own group (a batch file in a bulk load: the
   * group `hub import` keeps that file's positions under, so importing the file afterwards skips it). */
  consumerGroup?: string;
};

export type Mapped =
  | { message: SourceMessage; changes: CanonicalChange[] }
  | { message: SourceMessage; error: { code: string; reason: string } };

/** Maps a partition's messages to canonical changes (or the error that quarantines each), in order. */
export function mapMessages(
  route: Route,
  messages: readonly SourceMessage[],
  maxBytes = defaultMaxMessageBytes,
): Mapped[] {
  return messages.map((m) => mapMessage(route, m, maxBytes));
}
type Taken = { part: number; message: SourceMessage; changes: CanonicalChange[] };

export async function applyBatch(
  orm: MikroORM,
  consumerGroup: string,
  route: Route,
  partition: number,
  messages: readonly SourceMessage[],
  deps: IngestDeps,
): Promise<BatchResult> {
  const [result] = await applyBatches(orm, consumerGroup, [{ route, partition, messages }], deps);
  return result as BatchResult;
}

type StoredPosition = { topic: string; partition: number; next_offset: string };

/**
 * Locks the parts' stored positions for the rest of the transaction and reads them. Two transactions applying the
 * same partition — its new owner after a rebalance and the old owner finishing messages it had already fetched —
 * take turns on that lock, and the second skips what the first applied. A partition with no position yet gets a
 * row first (offset 0, which skips nothing; the transaction stores the real one), so that even its first messages
 * are applied once: a second transaction inserting the same row waits for the first to commit.
 */
async function lockPositions(
  em: EntityManager,
  consumerGroup: string,
  parts: readonly BatchPart[],
): Promise<StoredPosition[]> {
  const lock = (of: readonly BatchPart[]) =>
    executeBound<StoredPosition[]>(
      em,
      `select o.topic, o.partition, o.next_offset::text as next_offset from (values ${marks(of.length, '(?, ?::int)')}) as p(topic, partition)
         join consumer_offset o on o.consumer_group = ? and o.topic = p.topic and o.partition = p.partition order by o.topic, o.partition for update of o`,
      [...of.flatMap((p) => [p.route.topic, p.partition]), consumerGroup],
    );
  const stored = await lock(parts);
  const missing = parts.filter((p) => !stored.some((r) => r.topic === p.route.topic && r.partition === p.partition));
  if (missing.length === 0) return stored;
  await executeBound(
    em,
    `insert into consumer_offset (consumer_group, topic, partition, next_offset) values ${marks(missing.length, '(?, ?, ?, 0)')}
     on conflict (consumer_group, topic, partition) do nothing`,
    missing.flatMap((p) => [consumerGroup, p.route.topic, p.partition]),
  );
  return [...stored, ...(await lock(missing))];
}

/**
 * Applies several partitions' messages (of any topics) in one transaction — group commit: with many partitions
 * each bringing a few messages, one transaction for all of them instead of one each is what keeps the cost per
 * event low at a steady trickle. Each partition's position is stored in the same transaction; the results come
 * back per part (applied and stale changes are counted per source system, and reported with the first part of
 * that system). Messages whose party changes need more advisory locks than `maxKeyLocks` are applied in several
 * transactions, one after the other (`PartiallyApplied` if a later one fails).
 */
export async function applyBatches(
  orm: MikroORM,
  consumerGroup: string,
  parts: readonly BatchPart[],
  deps: IngestDeps,
): Promise<BatchResult[]> {
  const mapped = parts.map((p) => p.mapped ?? mapMessages(p.route, p.messages, deps.maxMessageBytes));
  const budget = deps.maxKeyLocks ?? defaultMaxKeyLocks;
  const results = parts.map(() => emptyBatchResult());
  const done = parts.map(() => 0);
  // One transaction after the other, each storing its parts' positions. Each is cut from what is left when it
  // starts: the blocks remembered as too big (not locked) can change while the ones before it run.
  for (let transactions = 0; ; transactions += 1) {
    const slices = sliceByKeyLocks(
      mapped.map((items, i) => items.slice(done[i])),
      deps,
      budget,
    );
    if (transactions === 0 && slices.length <= 1) return applyInOneTransaction(orm, consumerGroup, parts, mapped, deps);
    const slice = slices[0];
    if (!slice) return results;
    try {
      if (transactions > 0 && deps.isStopping?.()) throw new Error('the hub is stopping');
      const sliced = await applyInOneTransaction(
        orm,
        consumerGroup,
        slice.map((s) => ({
          ...(parts[s.part] as BatchPart),
          messages: s.mapped.map((m) => m.message),
          mapped: s.mapped,
        })),
        slice.map((s) => s.mapped),
        deps,
      );
      slice.forEach((s, j) => {
        addBatchResult(results[s.part] as BatchResult, sliced[j] as BatchResult);
        done[s.part] = (done[s.part] as number) + s.mapped.length;
      });
    } catch (e) {
      if (transactions === 0) throw e;
      const committed = new Map<BatchPart, Committed>();
      parts.forEach((p, i) => {
        if ((done[i] as number) > 0)
          committed.set(p, { result: results[i] as BatchResult, messages: done[i] as number });
      });
      throw new PartiallyApplied(committed, e);
    }
  }
}

/** What the committed transactions of a group did for one of its parts: its result and its first `messages`. */
export type Committed = { result: BatchResult; messages: number };

/**
 * A group applied in several transactions (over the key-lock budget) of which a later one failed, or that stopped
 * between two because the hub is stopping. The earlier ones committed, with their positions: the caller counts
 * what they did (`committed`, per part) and applies only the rest again. Carries the failure's SQLSTATE, so that
 * its retry is counted under the failure's cause.
 */
export class PartiallyApplied extends Error {
  readonly committed: ReadonlyMap<BatchPart, Committed>;
  readonly failure: unknown;
  readonly code: string;
  constructor(committed: ReadonlyMap<BatchPart, Committed>, failure: unknown) {
    super(`applied in part, then: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
    this.name = 'PartiallyApplied';
    this.committed = committed;
    this.failure = failure;
    this.code = sqlStateOf(failure);
  }
}

/** A run of one part's messages (`part` indexes the parts) applied in one transaction with runs of other parts. */
export type SliceRun = { part: number; mapped: readonly Mapped[] };

/**
 * Cuts the parts' messages, in order, into transactions whose party changes take at most `budget` advisory
 * locks (keys shared within a transaction count once). A message is never split: one whose own locks exceed the
 * budget goes alone. Usually there is one slice, all of it.
 */
export function sliceByKeyLocks(mapped: readonly (readonly Mapped[])[], deps: SyncDeps, budget: number): SliceRun[][] {
  const slices: SliceRun[][] = [];
  let current: SliceRun[] = [];
  let locks = new Set<string>();
  for (const [part, items] of mapped.entries()) {
    let start = 0;
    for (const [j, item] of items.entries()) {
      if (!('changes' in item)) continue;
      const own = new Set<string>();
      for (const c of item.changes) addPartyLockKeys(own, c, deps);
      let added = 0;
      for (const k of own) if (!locks.has(k)) added += 1;
      if (locks.size > 0 && locks.size + added > budget) {
        if (j > start) current.push({ part, mapped: items.slice(start, j) });
        slices.push(current);
        current = [];
        locks = new Set();
        start = j;
      }
      for (const k of own) locks.add(k);
    }
    if (items.length > start) current.push({ part, mapped: items.slice(start) });
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

/**
 * The database rejected a row of a set step applied without a savepoint (an invalid value the mapping let through):
 * the transaction is rolled back and applied again with savepoints, to quarantine the culprit alone.
 */
class RejectedInSetStep extends Error {}

/**
 * Applies the parts in one transaction. First without savepoints: each is two statements (savepoint, release),
 * four of the few dozen a steady-rate transaction runs one after the other, and a rejection is rare. If the database
 * rejects a row, the transaction is rolled back and applied again `carefully`: each set step in a savepoint, and
 * after a rejection one savepoint per message.
 */
async function applyInOneTransaction(
  orm: MikroORM,
  consumerGroup: string,
  parts: readonly BatchPart[],
  mapped: readonly (readonly Mapped[])[],
  deps: IngestDeps,
): Promise<BatchResult[]> {
  try {
    return await applyInOneTransactionAs(orm, consumerGroup, parts, mapped, deps, false);
  } catch (e) {
    if (!(e instanceof RejectedInSetStep)) throw e;
    return applyInOneTransactionAs(orm, consumerGroup, parts, mapped, deps, true);
  }
}

async function applyInOneTransactionAs(
  orm: MikroORM,
  consumerGroup: string,
  parts: readonly BatchPart[],
  mapped: readonly (readonly Mapped[])[],
  deps: IngestDeps,
  carefully: boolean,
): Promise<BatchResult[]> {
  const results = await orm.em.fork().transactional(async (em) => {
    const results: BatchResult[] = parts.map(() => emptyBatchResult());
    const stored = await lockPositions(em, consumerGroup, parts);
    const from = parts.map((p) => {
      const row = stored.find((r) => r.topic === p.route.topic && r.partition === p.partition);
      return row ? BigInt(row.next_offset) : -1n;
    });
    await lockPartyKeys(
      em,
      mapped.flatMap((items, i) =>
        items.flatMap((m) => ('changes' in m && BigInt(m.message.offset) >= (from[i] as bigint) ? m.changes : [])),
      ),
      deps,
    );
    const stats = emptyStats();
    const changed = emptyChangeSet();
    const factMessages: Taken[] = [];
    const partyMessages: Taken[] = [];
    const rejected = new Set<string>();
    const last: (bigint | null)[] = parts.map(() => null);
    for (const [i, items] of mapped.entries()) {
      const result = results[i] as BatchResult;
      for (const item of items) {
        const offset = BigInt(item.message.offset);
        last[i] = last[i] === null || offset > (last[i] as bigint) ? offset : (last[i] as bigint);
        if (offset < (from[i] as bigint)) {
          result.skipped += 1;
          continue;
        }
        if ('error' in item) {
          await quarantine(em, parts[i] as BatchPart, item.message, item.error.code, item.error.reason, result);
          continue;
        }
        for (const c of item.changes)
          if (c.sourceTime && (result.latestSourceTime === null || c.sourceTime > result.latestSourceTime))
            result.latestSourceTime = c.sourceTime;
        // A message's facts (the payment beside its payer) join the batch's set-based step; its party changes go
        // through identity resolution.
        const facts = item.changes.filter(isFact);
        if (facts.length > 0) factMessages.push({ part: i, message: item.message, changes: facts });
        if (facts.length < item.changes.length)
          partyMessages.push({ part: i, message: item.message, changes: item.changes.filter((c) => !isFact(c)) });
      }
    }
    let phaseStarted = performance.now();
    const phaseDone = (phase: string) => {
      const now = performance.now();
      applyPhaseSeconds.inc({ phase }, (now - phaseStarted) / 1000);
      phaseStarted = now;
    };
    const applyOneByOne = async (taken: readonly Taken[]) => {
      for (const m of taken) {
        const part = parts[m.part] as BatchPart;
        const problem = await inSavepoint(em, stats, changed, (inner, s, work) =>
          applyChanges(inner, m.changes, deps, s, work),
        );
        if (problem === null) continue;
        await quarantine(em, part, m.message, 'REJECTED_BY_DATABASE', problem, results[m.part] as BatchResult);
        rejected.add(`${m.part}:${m.message.offset}`);
      }
    };
    /** A set step without a savepoint: a rejection rolls the whole transaction back (see applyInOneTransaction). */
    const directly = async (work: (em: EntityManager, stats: ApplyStats, changed: ChangeSet) => Promise<void>) => {
      try {
        await work(em, stats, changed);
      } catch (e) {
        const rejection = rejectionOf(e);
        if (rejection !== null) throw new RejectedInSetStep(rejection, { cause: e });
        throw e;
      }
    };
    if (partyMessages.length > 0 && !carefully)
      await directly((inner, s, work) =>
        applyChanges(
          inner,
          partyMessages.flatMap((m) => m.changes),
          deps,
          s,
          work,
        ),
      );
    else if (partyMessages.length > 0) {
      // Optimistically all in one savepoint; only if the database rejects one of them, again one savepoint
      // per message to quarantine the culprit.
      const together = await inSavepoint(em, stats, changed, (inner, s, work) =>
        applyChanges(
          inner,
          partyMessages.flatMap((m) => m.changes),
          deps,
          s,
          work,
        ),
      );
      if (together !== null) await applyOneByOne(partyMessages);
    }
    phaseDone('party');
    // A quarantined message is quarantined whole: its facts are not applied without its customer.
    const factsToApply = factMessages.filter((m) => !rejected.has(`${m.part}:${m.message.offset}`));
    if (factsToApply.length > 0 && !carefully)
      await directly((inner, s, work) =>
        applyFacts(
          inner,
          factsToApply.flatMap((m) => m.changes.filter(isFact)),
          s,
          work,
        ),
      );
    else if (factsToApply.length > 0) {
      const together = await inSavepoint(em, stats, changed, (inner, s, work) =>
        applyFacts(
          inner,
          factsToApply.flatMap((m) => m.changes.filter(isFact)),
          s,
          work,
        ),
      );
      // Someone in the set is bad: find who, one message at a time.
      if (together !== null) await applyOneByOne(factsToApply);
    }
    phaseDone('facts');
    // The follow-up of what this transaction changed (risk: queued for the risk worker when streaming, settled
    // here for file and demo loads), inside the transaction so that it commits with the effects.
    await deps.followUp.run(em, changed);
    phaseDone(deps.followUp.phase);
    const positions = parts.flatMap((p, i) => {
      const l = last[i] ?? null;
      if (l === null || l + 1n <= (from[i] as bigint)) return [];
      (results[i] as BatchResult).nextOffset = (l + 1n).toString();
      return [[consumerGroup, p.route.topic, p.partition, (l + 1n).toString()]];
    });
    if (positions.length > 0) {
      await executeBound(
        em,
        `insert into consumer_offset (consumer_group, topic, partition, next_offset) values ${marks(positions.length, '(?, ?, ?, ?)')}
         on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        positions.flat(),
      );
    }
    // Changes are counted per source system; each system's count goes with its first part.
    const reported = new Set<string>();
    for (const [i, p] of parts.entries()) {
      const result = results[i] as BatchResult;
      const system = p.route.connector.manifest.sourceSystem;
      if (i === 0) result.partiesChanged = stats.partiesChanged;
      if (reported.has(system)) continue;
      reported.add(system);
      result.applied = stats.bySystem.get(system)?.applied ?? 0;
      result.stale = stats.bySystem.get(system)?.stale ?? 0;
    }
    return results;
  });
  ingestTransactionsTotal.inc();
  return results;
}

function mapMessage(route: Route, message: SourceMessage, maxBytes: number): Mapped {
  // Checked before anything parses it: a value this large is a broken producer or an attack, not a record.
  if (message.value !== null && message.value.length > maxBytes)
    return {
      message,
      error: {
        code: 'TOO_LARGE',
        reason: `the value is ${message.value.length} bytes, over the maximum of ${maxBytes}`,
      },
    };
  if (message.undecodable) return { message, error: { code: 'UNDECODABLE', reason: message.undecodable } };
  try {
    return { message, changes: mapWithManifest(route.connector, { ...message, topic: route.contractTopic }) };
  } catch (e) {
    if (e instanceof MappingError) return { message, error: { code: e.code, reason: e.message } };
    return {
      message,
      error: { code: 'MAPPING_FAILED', reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) },
    };
  }
}

/**
 * Runs `work` inside a savepoint; its statistics and risk follow-up count only if it commits. A data error
 * from PostgreSQL (SQLSTATE class 22 data exception or 23 integrity violation) is the records' fault: roll back
 * to the savepoint and report it. Anything else (connection lost, serialization failure) is transient and
 * aborts the whole batch for a retry.
 */
export async function inSavepoint(
  em: EntityManager,
  stats: ApplyStats,
  changed: ChangeSet,
  work: (em: EntityManager, stats: ApplyStats, changed: ChangeSet) => Promise<void>,
): Promise<string | null> {
  const local = { ...emptyStats() };
  const localChanges = emptyChangeSet();
  try {
    await em.transactional((inner) => work(inner, local, localChanges));
  } catch (e) {
    const rejection = rejectionOf(e);
    if (rejection !== null) return rejection;
    throw e;
  }
  addStats(stats, local);
  mergeChangeSets(changed, localChanges);
  return null;
}

/** The reason to quarantine a record the database rejected as invalid data (SQLSTATE class 22 or 23), else null. */
function rejectionOf(e: unknown): string | null {
  const err = e as { sqlState?: unknown; code?: unknown };
  const sqlState = typeof err.sqlState === 'string' ? err.sqlState : err.code;
  if (typeof sqlState === 'string' && (sqlState.startsWith('22') || sqlState.startsWith('23')))
    return `database rejected the record (SQLSTATE ${sqlState}): ${(e as Error).message}`;
  return null;
}

export async function quarantine(
  em: EntityManager,
  part: BatchPart,
  message: SourceMessage,
  code: string,
  reason: string,
  result: BatchResult,
): Promise<void> {
  await executeBound(
    em,
    `insert into quarantined_event (id, connector, topic, partition, "offset", message_key, message_value, error_code, reason)
     values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?) on conflict (topic, partition, "offset") do nothing`,
    [
      part.route.connector.manifest.id,
      part.route.topic,
      part.partition,
      message.offset,
      asText(message.key),
      asText(message.value),
      code,
      reason,
    ],
  );
  result.quarantined += 1;
  result.rejected.push({ offset: message.offset, code, reason });
}

/** Values above this are kept in quarantine only as a prefix with their size and digest. */
const quarantineKeepBytes = 64 * 1024;

/**
 * PostgreSQL text cannot hold NUL; keep everything else of the original bytes readable. A value too large to keep
 * (an oversized message) is stored as its first bytes with its length and sha256, enough to find and compare it.
 */
function asText(buf: Buffer | null): string | null {
  if (buf === null) return null;
  if (buf.length > quarantineKeepBytes) {
    const digest = createHash('sha256').update(buf).digest('hex');
    const head = buf.subarray(0, 4096).toString('utf8').replaceAll('\u0000', '\\u0000');
    return `[${buf.length} bytes, sha256 ${digest}; first 4096 bytes follow]\n${head}`;
  }
  return buf.toString('utf8').replaceAll('\u0000', '\\u0000');
}
