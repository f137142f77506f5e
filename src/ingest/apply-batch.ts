import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import type { CanonicalChange } from '../connectors/framework/canonical.ts';
import type { SourceMessage } from '../connectors/framework/connector.ts';
import { MappingError } from '../connectors/framework/errors.ts';
import { applyChanges, emptyStats, lockPartyKeys, type ApplyStats, type SyncDeps } from '../sync/apply-changes.ts';
import { applyFacts, isFact, type FactChange } from '../sync/apply-facts.ts';
import { mergeRiskWork, newRiskWork, settleRiskWork, type RiskWork } from '../risk/risk-work.ts';
import type { Route } from './topic-router.ts';
import { applyPhaseSeconds } from './metrics.ts';

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
 * risk follow-up of the whole batch is settled once at the end, in the same transaction.
 */
export type BatchResult = ApplyStats & { skipped: number; quarantined: number; nextOffset: string | null; rejected: { offset: string; code: string; reason: string }[]; latestSourceTime: Date | null };

type Mapped = { message: SourceMessage; changes: CanonicalChange[] } | { message: SourceMessage; error: { code: string; reason: string } };

export async function applyBatch(
  orm: MikroORM,
  consumerGroup: string,
  route: Route,
  partition: number,
  messages: readonly SourceMessage[],
  deps: SyncDeps,
): Promise<BatchResult> {
  const mapped = messages.map((m) => mapMessage(route, m));
  return orm.em.fork().transactional(async (em) => {
    const result: BatchResult = { ...emptyStats(), skipped: 0, quarantined: 0, nextOffset: null, rejected: [], latestSourceTime: null };
    const [stored] = await em.execute<{ next_offset: string }[]>(
      `select next_offset::text as next_offset from consumer_offset where consumer_group = ? and topic = ? and partition = ? for update`,
      [consumerGroup, route.topic, partition],
    );
    const from = stored ? BigInt(stored.next_offset) : -1n;
    await lockPartyKeys(em, mapped.flatMap((m) => ('changes' in m && BigInt(m.message.offset) >= from ? m.changes : [])), deps.matcher);
    let last: bigint | null = null;
    const risk = newRiskWork();
    const factMessages: { message: SourceMessage; changes: FactChange[] }[] = [];
    const partyMessages: { message: SourceMessage; changes: CanonicalChange[] }[] = [];
    const rejected = new Set<string>();
    for (const item of mapped) {
      const offset = BigInt(item.message.offset);
      last = last === null || offset > last ? offset : last;
      if (offset < from) {
        result.skipped += 1;
        continue;
      }
      if ('error' in item) {
        await quarantine(em, route, partition, item.message, item.error.code, item.error.reason);
        result.quarantined += 1;
        result.rejected.push({ offset: item.message.offset, code: item.error.code, reason: item.error.reason });
        continue;
      }
      for (const c of item.changes) if (c.sourceTime && (result.latestSourceTime === null || c.sourceTime > result.latestSourceTime)) result.latestSourceTime = c.sourceTime;
      // A message's facts (the payment beside its payer) join the batch's set-based step; its party changes go
      // through identity resolution.
      const facts = item.changes.filter(isFact);
      if (facts.length > 0) factMessages.push({ message: item.message, changes: facts });
      if (facts.length < item.changes.length) partyMessages.push({ message: item.message, changes: item.changes.filter((c) => !isFact(c)) });
    }
    let phaseStarted = performance.now();
    const phaseDone = (phase: string) => {
      const now = performance.now();
      applyPhaseSeconds.inc({ phase }, (now - phaseStarted) / 1000);
      phaseStarted = now;
    };
    if (partyMessages.length > 0) {
      // Optimistically all in one savepoint; only if the database rejects one of them, again one savepoint
      // per message to quarantine the culprit.
      const together = await inSavepoint(em, result, risk, (inner, stats, work) => applyChanges(inner, partyMessages.flatMap((m) => m.changes), deps, stats, work));
      if (together !== null) {
        for (const m of partyMessages) if (await applyOneOrQuarantine(em, route, partition, m.message, m.changes, deps, result, risk)) rejected.add(m.message.offset);
      }
    }
    phaseDone('party');
    // A quarantined message is quarantined whole: its facts are not applied without its customer.
    const factsToApply = factMessages.filter((m) => !rejected.has(m.message.offset));
    if (factsToApply.length > 0) {
      const together = await inSavepoint(em, result, risk, (inner, stats, work) => applyFacts(inner, factsToApply.flatMap((m) => m.changes), stats, work));
      if (together !== null) {
        // Someone in the set is bad: find who, one message at a time.
        for (const m of factsToApply) await applyOneOrQuarantine(em, route, partition, m.message, m.changes, deps, result, risk);
      }
    }
    phaseDone('facts');
    await settleRiskWork(em, risk, deps.topicPrefix);
    phaseDone('risk');
    if (last !== null && last + 1n > from) {
      result.nextOffset = (last + 1n).toString();
      await em.execute(
        `insert into consumer_offset (consumer_group, topic, partition, next_offset) values (?, ?, ?, ?)
         on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        [consumerGroup, route.topic, partition, result.nextOffset],
      );
    }
    return result;
  });
}

function mapMessage(route: Route, message: SourceMessage): Mapped {
  if (message.undecodable) return { message, error: { code: 'UNDECODABLE', reason: message.undecodable } };
  try {
    return { message, changes: route.connector.map({ ...message, topic: route.contractTopic }) };
  } catch (e) {
    if (e instanceof MappingError) return { message, error: { code: e.code, reason: e.message } };
    return { message, error: { code: 'MAPPING_FAILED', reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } };
  }
}

async function applyOneOrQuarantine(
  em: EntityManager,
  route: Route,
  partition: number,
  message: SourceMessage,
  changes: CanonicalChange[],
  deps: SyncDeps,
  result: BatchResult,
  risk: RiskWork,
): Promise<boolean> {
  const problem = await inSavepoint(em, result, risk, (inner, stats, work) => applyChanges(inner, changes, deps, stats, work));
  if (!problem) return false;
  await quarantine(em, route, partition, message, 'REJECTED_BY_DATABASE', problem);
  result.quarantined += 1;
  result.rejected.push({ offset: message.offset, code: 'REJECTED_BY_DATABASE', reason: problem });
  return true;
}

/**
 * Runs `work` inside a savepoint; its statistics and risk follow-up count only if it commits. A data error
 * from PostgreSQL (SQLSTATE class 22 data exception or 23 integrity violation) is the records' fault: roll back
 * to the savepoint and report it. Anything else (connection lost, serialization failure) is transient and
 * aborts the whole batch for a retry.
 */
async function inSavepoint(
  em: EntityManager,
  stats: ApplyStats,
  risk: RiskWork,
  work: (em: EntityManager, stats: ApplyStats, risk: RiskWork) => Promise<void>,
): Promise<string | null> {
  const local = { ...emptyStats() };
  const localRisk = newRiskWork();
  try {
    await em.transactional((inner) => work(inner, local, localRisk));
  } catch (e) {
    const err = e as { sqlState?: unknown; code?: unknown };
    const sqlState = typeof err.sqlState === 'string' ? err.sqlState : err.code;
    if (typeof sqlState === 'string' && (sqlState.startsWith('22') || sqlState.startsWith('23'))) {
      return `database rejected the record (SQLSTATE ${sqlState}): ${(e as Error).message}`;
    }
    throw e;
  }
  stats.applied += local.applied;
  stats.stale += local.stale;
  stats.partiesChanged += local.partiesChanged;
  mergeRiskWork(risk, localRisk);
  return null;
}

async function quarantine(em: EntityManager, route: Route, partition: number, message: SourceMessage, code: string, reason: string): Promise<void> {
  await em.execute(
    `insert into quarantined_event (id, connector, topic, partition, "offset", message_key, message_value, error_code, reason)
     values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?) on conflict (topic, partition, "offset") do nothing`,
    [route.connector.manifest.id, route.topic, partition, message.offset, asText(message.key), asText(message.value), code, reason],
  );
}

/** PostgreSQL text cannot hold NUL; keep everything else of the original bytes readable. */
function asText(buf: Buffer | null): string | null {
  return buf === null ? null : buf.toString('utf8').replaceAll('\u0000', '\\u0000');
}
