import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { marks } from '../db/sql-sets.ts';
import { applyFacts, isFact, type FactChange } from '../sync/apply-facts.ts';
import { emptyStats } from '../sync/apply-stats.ts';
import { emptyChangeSet } from '../sync/change-set.ts';
import { resolveStaged } from '../sync/bulk-resolve.ts';
import { PartyStage } from '../sync/bulk-stage.ts';
import { atLeastLocally } from '../db/local-settings.ts';
import { StatementLane } from '../db/statement-lane.ts';
import { prepareSnapshotWrite, writeSnapshot } from '../sync/bulk-write.ts';
import { foldChangeEvents } from '../sync/fold-events.ts';
import type { PartyChange } from '../sync/party-batch-types.ts';
import type { SourceMessage } from '../connectors/framework/connector.ts';
import {
  type BatchPart,
  emptyBatchResult,
  type IngestDeps,
  inSavepoint,
  mapMessages,
  quarantine,
} from './apply-batch.ts';
import type { BatchInputMessage } from './batch-source.ts';
import type { TopicRouter } from './topic-router.ts';

/**
 * The bulk initial load: a whole snapshot (a Debezium snapshot's `op: r` phase and whatever followed it on the
 * topics, or the batch path's input) into an EMPTY golden store in one transaction, instead of message by message:
 *   - every message is mapped by its connector exactly as streaming maps it; what cannot be mapped is
 *     quarantined with its position and reason, as in streaming;
 *   - facts (policies, covers, roles, activities) are applied set-wise 20,000 at a time as they stream in
 *     (version-guarded, so a fact's highest version wins whatever the order);
 *   - party changes are staged in the database as they stream in (src/sync/bulk-stage.ts: a million customers'
 *     payloads are never held in this process) and reduced there to each source record's last state (the
 *     highest version; change events folded per attribute as streaming folds them), resolved all at once
 *     (src/sync/bulk-resolve.ts — the partition streaming reaches after its resolution pass) and written set-wise
 *     (src/sync/bulk-write.ts);
 *   - the follow-up (risk, the customer programme) gets every new golden record, and the positions of every
 *     partition are stored with the effects: streaming takes over from exactly there.
 * One transaction: a load that fails leaves the store as it was. The store must be empty of source records
 * (an initial load); later snapshots go through streaming or `hub import`.
 */
export type BulkLoadResult = {
  messages: number;
  records: number;
  parties: number;
  facts: number;
  quarantined: number;
  /** The quarantined messages: topic (or batch file stream), position (a file's line number), code, reason. */
  rejected: { topic: string; offset: string; code: string; reason: string }[];
  tombstones: number;
  reviews: number;
  largestComponent: number;
  rows: Record<string, number>;
  phases: Record<string, number>;
  /** This process's CPU seconds per phase (the rest of a phase's time is the database's work, or waiting on it). */
  processCpu: Record<string, number>;
  /** Resident memory (MB) at the end of each phase, and the process's peak so far: the load holds the snapshot. */
  memory: Record<string, number>;
  /** Stored under the load's consumer group unless a part names its own (batch files: `import:<connector>`). */
  positions: { consumerGroup: string; topic: string; partition: number; nextOffset: string }[];
  seconds: number;
};

export class StoreNotEmptyError extends Error {}

const factChunk = 20_000;

export async function bulkLoadParts(
  orm: MikroORM,
  consumerGroup: string,
  parts: Iterable<BatchPart> | AsyncIterable<BatchPart>,
  deps: IngestDeps,
): Promise<BulkLoadResult> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let lap = performance.now();
  let cpuLap = process.cpuUsage();
  const processCpu: Record<string, number> = {};
  const memory: Record<string, number> = {};
  const phaseDone = (name: string) => {
    const now = performance.now();
    phases[name] = (phases[name] ?? 0) + (now - lap) / 1000;
    lap = now;
    const cpu = process.cpuUsage(cpuLap);
    cpuLap = process.cpuUsage();
    processCpu[name] = (processCpu[name] ?? 0) + (cpu.user + cpu.system) / 1e6;
    memory[name] = Math.max(memory[name] ?? 0, Math.round(process.memoryUsage.rss() / 2 ** 20));
    // With --expose-gc (a measurement, not production): the live heap after a full collection.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      const m = process.memoryUsage();
      memory[`${name} live heap`] = Math.max(memory[`${name} live heap`] ?? 0, Math.round(m.heapUsed / 2 ** 20));
      memory[`${name} buffers`] = Math.max(memory[`${name} buffers`] ?? 0, Math.round(m.arrayBuffers / 2 ** 20));
    }
    memory.peak = Math.round(process.resourceUsage().maxRSS / 1024);
  };
  return orm.em.fork().transactional(async (em) => {
    const [held] = await executeBound<{ any: boolean }[]>(
      em,
      'select exists (select 1 from source_record) or exists (select 1 from party) as any',
    );
    if (held?.any)
      throw new StoreNotEmptyError(
        'the bulk load is for an initial load into an empty store: this store already holds source or golden records (load later snapshots through streaming or `hub import`)',
      );
    // The load's sorts and hashes (the stage reduced to each record's last state, the blocks, records by golden
    // record) held at 10,000 clients 10–40 MB each and spilled to temporary files at the default 4 MB (PostgreSQL's
    // log_temp_files); and its cursors read everything, so they are planned for all their rows, not the first tenth.
    await atLeastLocally(em, 'work_mem', 256);
    await executeBound(em, 'set local cursor_tuple_fraction = 1');
    // Secondary indexes and foreign keys of the tables the load fills go until its end (bulk-write.ts).
    const dropped = await prepareSnapshotWrite(em);
    const result: BulkLoadResult = {
      messages: 0,
      records: 0,
      parties: 0,
      facts: 0,
      quarantined: 0,
      rejected: [],
      tombstones: 0,
      reviews: 0,
      largestComponent: 0,
      rows: {},
      phases,
      processCpu,
      memory,
      positions: [],
      seconds: 0,
    };
    const changed = emptyChangeSet();
    const stats = emptyStats();
    const last = new Map<string, { consumerGroup: string; topic: string; partition: number; offset: bigint }>();
    // While messages are mapped (this process), the database writes what was mapped before them: staged party
    // changes, facts and quarantined messages are jobs of one lane, run in order on the transaction's connection.
    const lane = new StatementLane();
    // Party changes: whole records go to the stage as they come; change events are kept in order for the fold.
    const stage = new PartyStage(em, lane);
    const events: PartyChange[] = [];
    let facts: { part: BatchPart; message: SourceMessage; changes: FactChange[] }[] = [];
    let pendingFacts = 0;

    const queueFacts = async () => {
      if (facts.length === 0) return;
      const taken = facts;
      facts = [];
      pendingFacts = 0;
      await lane.queue(() => applyTogether(taken));
    };
    const applyTogether = async (taken: typeof facts) => {
      const together = await inSavepoint(em, stats, changed, (inner, s, work) =>
        applyFacts(
          inner,
          taken.flatMap((m) => m.changes),
          s,
          work,
          'copy',
        ),
      );
      if (together === null) return;
      // Someone in the chunk is bad: find who, one message at a time (as streaming does).
      for (const m of taken) {
        const problem = await inSavepoint(em, stats, changed, (inner, s, work) =>
          applyFacts(inner, m.changes, s, work),
        );
        if (problem !== null) await quarantineOne(em, m.part, m.message, 'REJECTED_BY_DATABASE', problem, result);
      }
    };

    // Whatever fails, no job of the lane may still be running on the connection when the transaction ends; what
    // the database has left to write when reading is done is the "facts" phase.
    await lane.around(async () => {
      await readAll();
      await queueFacts();
      phaseDone('read and map');
    });
    phaseDone('facts');
    async function readAll() {
      for await (const part of parts) {
        const mapped = mapMessages(part.route, part.messages, deps.maxMessageBytes);
        for (const item of mapped) {
          result.messages += 1;
          const group = part.consumerGroup ?? consumerGroup;
          const k = `${group}\u0000${part.route.topic}:${part.partition}`;
          const offset = BigInt(item.message.offset);
          const before = last.get(k);
          if (!before || offset > before.offset)
            last.set(k, { consumerGroup: group, topic: part.route.topic, partition: part.partition, offset });
          if ('error' in item) {
            const { code, reason } = item.error;
            await lane.queue(() => quarantineOne(em, part, item.message, code, reason, result));
            continue;
          }
          const factsOf = item.changes.filter(isFact);
          if (factsOf.length > 0) {
            facts.push({ part, message: item.message, changes: factsOf });
            pendingFacts += factsOf.length;
          }
          for (const c of item.changes) {
            if (isFact(c)) continue;
            if (c.carries === 'changes') {
              events.push(c);
              continue;
            }
            await stage.add(c);
          }
        }
        if (pendingFacts >= factChunk) await queueFacts();
      }
    }
    result.facts = stats.bySystem.size > 0 ? [...stats.bySystem.values()].reduce((n, s) => n + s.applied, 0) : 0;

    // Change events folded per attribute, in order, as streaming folds them; the last fold is the record.
    for (const c of await foldChangeEvents(em, events)) {
      if (c.fold === undefined) continue; // stale: changes nothing
      await stage.add(c, true);
    }
    events.length = 0;
    const settled = await stage.settle();
    result.records = settled.records;
    result.tombstones = settled.tombstones;
    phaseDone('fold');
    const resolution = await resolveStaged(em, deps.matcher);
    result.parties = resolution.parties.length;
    result.largestComponent = resolution.largestComponent;
    phaseDone('match');
    const matching = deps.matcher.batch;
    if (!matching) throw new Error(`matcher ${deps.matcher.name} cannot resolve in batch`);
    result.rows = await writeSnapshot(em, resolution, matching, changed, dropped, phaseDone).catch(async (e) => {
      // The keys' insert ran unawaited: if it failed, every later statement failed for it — report its error.
      await resolution.keysStored;
      throw e;
    });
    result.reviews = result.rows.review_task ?? 0;
    await deps.followUp.run(em, changed);
    phaseDone(deps.followUp.phase);

    result.positions = [...last.values()]
      .sort(
        (a, b) =>
          a.consumerGroup.localeCompare(b.consumerGroup) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
      )
      .map((p) => ({
        consumerGroup: p.consumerGroup,
        topic: p.topic,
        partition: p.partition,
        nextOffset: (p.offset + 1n).toString(),
      }));
    for (let i = 0; i < result.positions.length; i += 500) {
      const chunk = result.positions.slice(i, i + 500);
      await executeBound(
        em,
        `insert into consumer_offset (consumer_group, topic, partition, next_offset) values ${marks(chunk.length, '(?, ?, ?, ?)')}
         on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        chunk.flatMap((p) => [p.consumerGroup, p.topic, p.partition, p.nextOffset]),
      );
    }
    result.seconds = (performance.now() - started) / 1000;
    return result;
  });
}

async function quarantineOne(
  em: EntityManager,
  part: BatchPart,
  message: SourceMessage,
  code: string,
  reason: string,
  result: BulkLoadResult,
): Promise<void> {
  const counted = emptyBatchResult();
  await quarantine(em, part, message, code, reason, counted);
  result.quarantined += counted.quarantined;
  result.rejected.push(...counted.rejected.map((r) => ({ ...r, topic: part.route.topic })));
}

/**
 * The batch path's input (the demo data set, a generated snapshot) through the bulk load: messages get
 * positions 0..n-1 per topic under the stream's name, as `ingestBatch` gives them, so streaming the same input
 * afterwards skips what the load applied.
 */
export async function bulkLoad(
  orm: MikroORM,
  router: TopicRouter,
  streamName: string,
  messages: Iterable<BatchInputMessage> | AsyncIterable<BatchInputMessage>,
  deps: IngestDeps,
): Promise<BulkLoadResult> {
  return bulkLoadParts(orm, `batch:${streamName}`, batchInputParts(router, messages), deps);
}

/** Batch input as the bulk load's parts: positions 0..n-1 per topic under the stream's name, up to 1,000 a part. */
export async function* batchInputParts(
  router: TopicRouter,
  messages: Iterable<BatchInputMessage> | AsyncIterable<BatchInputMessage>,
): AsyncGenerator<BatchPart> {
  const positions = new Map<string, number>();
  const pending = new Map<string, SourceMessage[]>();
  const bytes = new TextSlab();
  const emit = function* (topic: string) {
    const list = pending.get(topic);
    const route = router.route(topic);
    if (!list || list.length === 0) return;
    if (!route) throw new Error(`no connector for topic ${topic}`);
    pending.set(topic, []);
    yield { route, partition: 0, messages: list };
  };
  for await (const m of messages) {
    const position = positions.get(m.topic) ?? 0;
    positions.set(m.topic, position + 1);
    const list = pending.get(m.topic) ?? [];
    list.push({
      topic: m.topic,
      partition: 0,
      offset: String(position),
      key: m.key === null ? null : bytes.encode(m.key),
      value: m.value === null ? null : bytes.encode(m.value),
      timestamp: null,
    });
    pending.set(m.topic, list);
    if (list.length >= 1_000) yield* emit(m.topic);
  }
  for (const topic of [...pending.keys()]) yield* emit(topic);
}

/**
 * UTF-8 bytes of many short texts carved out of shared 1 MB blocks: a Buffer of its own per message (two per
 * message, 257,964 for bench:load's traffic) was a tenth of the read phase's time in allocation and collection.
 * A block lives as long as any message cut from it.
 */
class TextSlab {
  #block = Buffer.allocUnsafe(0);
  #used = 0;

  encode(text: string): Buffer {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.#used + text.length * 3 > this.#block.length) {
      this.#block = Buffer.allocUnsafe(Math.max(blockBytes, text.length * 3));
      this.#used = 0;
    }
    const start = this.#used;
    this.#used += this.#block.write(text, start);
    return this.#block.subarray(start, this.#used);
  }
}
const blockBytes = 1 << 20;
