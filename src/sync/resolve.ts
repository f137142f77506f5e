import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { chunked } from '../db/sql-sets.ts';
import { retriesTotal, retryCause, sqlStateOf } from '../observability/metrics.ts';
import { type ChangeSet, emptyChangeSet } from './change-set.ts';
import { mergeParties } from './identity.ts';
import { countBlocks } from './match/block-sizes.ts';
import type { BatchMatching, Matcher, MatchCandidate } from './match/matcher.ts';
import { recomputeParties, type HistoryCause } from './survivorship.ts';

/**
 * The resolution pass: streaming identity resolution decides each record when it arrives, so the order of
 * arrival can decide a partition (a record that would have bridged two golden records arrives before or after
 * the records it bridges). The pass re-clusters the neighbourhood of everything touched since the last pass —
 * the golden records of those records and of every record sharing a usable blocking key with them — as the
 * batch engine would, independent of order, and repairs the difference as merges and moves with history and
 * change causes like any other. Steward decisions stand: golden records holding a record linked by hand, and
 * records with a remembered rejection, are left as they are.
 */
export type ResolveResult = {
  changed: ChangeSet;
  records: number;
  moved: number;
  merged: number;
  created: number;
  /** The golden records of the neighbourhood: clustered whole, they need no second look in the same pass. */
  reached: string[];
};

/**
 * Tries of one round aborted by a deadlock, a serialization failure or a row it could not lock at once, before the
 * pass gives up until its next run. All but the last take their row locks without waiting (NOWAIT, see
 * resolveAround): the pass is background work and yields to ingest instead of queueing behind it.
 */
const roundAttempts = 4;
/** A pass handles the neighbourhood of this many seed golden records per transaction. */
export const seedsPerRound = 200;

type Member = MatchCandidate & { createdAt: string };
type Walkable = Required<Pick<Matcher, 'candidateKeys' | 'cluster' | 'linked'>> & { batch: BatchMatching };

/**
 * A neighbourhood stops growing at this many golden records (a giant component is handled in pieces, and then the
 * pieces depend on the seeds): a bound on a round's memory and locks that links-closed neighbourhoods do not reach.
 */
export const defaultMaxNeighbourhood = 5_000;

/**
 * The golden records to cluster together with the seeds: closed under the links clustering can follow, so that
 * clustering them gives what clustering the whole store would, whatever the seeds. Clustering joins records only
 * along MATCH pairs (`Matcher.linked`) of usable blocks — small enough for their rule (`BatchMatching.usable`: a
 * family name up to 20 records, a phone up to 100), counted in the whole store — and weighs records sharing a
 * usable phone against each other (an id-less record is detached when its phone's holders plausibly belong to two
 * golden records). So the walk goes from every record of a golden record reached to the golden records of its
 * MATCH pairs and of its usable phones' holders, to closure; and clustering pairs only records of usable blocks
 * (`usable`, returned), so a record's pairs are the same whichever neighbourhood it is clustered in.
 * (Before: the closure over every block of up to 100 records, the rules' own caps applied only among the
 * neighbourhood's records. It chained half of a store into one component — 11,376 of bench:load's 21,398 records
 * even with the rules' caps — cut at 5,000 golden records into pieces that depended on the seeds' order, and the
 * soak's two stores, fed the same messages in different orders, disagreed on 7–10 of 32,000 records after their
 * full passes.)
 */
async function neighbourhood(
  em: EntityManager,
  matcher: Walkable,
  seeds: readonly string[],
  maxNeighbourhood: number,
): Promise<{ parties: Set<string>; members: Member[]; usable: Set<string> }> {
  const judged = new Map<string, boolean>();
  const judge = async (keys: Iterable<string>): Promise<string[]> => {
    const all = [...new Set(keys)];
    const sizes = await countBlocks(
      em,
      all.filter((k) => !judged.has(k)),
      matcher.batch.countLimit,
    );
    for (const [k, n] of sizes) judged.set(k, matcher.batch.usable(k, n));
    return all.filter((k) => judged.get(k) === true);
  };
  const candidate = `sr.id as "recordId", sr.party_id::text as "partyId", sr.system, sr.source_id as "sourceId",
    sr.match_profile as profile, case when sr.match_profile is null then sr.attributes end as attributes`;
  // Usable blocks' live records, each block read once.
  const blocks = new Map<string, MatchCandidate[]>();
  const parties = new Set(seeds);
  const walked = new Set<string>();
  let frontier = [...seeds];
  while (frontier.length > 0 && parties.size < maxNeighbourhood) {
    const records = (
      await executeBound<MatchCandidate[]>(
        em,
        `select ${candidate} from source_record sr where sr.party_id = any(?::uuid[]) and not sr.deleted`,
        [frontier],
      )
    ).filter((r) => !walked.has(r.recordId));
    for (const r of records) walked.add(r.recordId);
    const keysOf = records.map((r) => matcher.candidateKeys(r));
    const unread = (await judge(keysOf.flat())).filter((k) => !blocks.has(k));
    for (const k of unread) blocks.set(k, []);
    for (const part of chunked(unread, 5_000)) {
      const rows = await executeBound<(MatchCandidate & { key: string })[]>(
        em,
        // Per key (lateral, kept apart by OFFSET 0), as the batch matcher reads blocks (party-batch-load.ts): index
        // lookups whatever the statistics say.
        `select u.k as key, c.* from unnest(?::text[]) as u(k) cross join lateral (
           select ${candidate} from match_key mk join source_record sr on sr.id = mk.source_record_id and not sr.deleted
            where mk.key_hash = hashtextextended(u.k, 0) and sr.party_id is not null offset 0) as c`,
        [part],
      );
      for (const { key, ...c } of rows) blocks.get(key)?.push(c);
    }
    const next = new Set<string>();
    records.forEach((r, i) => {
      for (const k of keysOf[i] as string[]) {
        const phone = k.startsWith('phone:');
        for (const c of blocks.get(k) ?? []) {
          if (parties.has(c.partyId) || next.has(c.partyId) || c.recordId === r.recordId) continue;
          if (phone || matcher.linked(r, c)) next.add(c.partyId);
        }
      }
    });
    frontier = [...next];
    for (const id of next) parties.add(id);
  }
  // Steward decisions stand: parties with a record linked by hand, and records with a remembered rejection.
  const members = await executeBound<Member[]>(
    em,
    `select sr.id as "recordId", sr.party_id::text as "partyId", sr.system, sr.source_id as "sourceId", sr.match_profile as profile,
            case when sr.match_profile is null then sr.attributes end as attributes, p.created_at::text as "createdAt"
       from source_record sr join party p on p.id = sr.party_id and p.status = 'ACTIVE'
      where sr.party_id = any(?::uuid[]) and not sr.deleted
        and not exists (select 1 from source_record m where m.party_id = sr.party_id and m.link_type = 'MANUAL' and not m.deleted)
        and not exists (select 1 from match_rejection r where r.source_record_id = sr.id)
      order by sr.system, sr.source_id`,
    [[...parties]],
  );
  // (A neighbourhood cut at the cap holds records whose keys the walk did not reach.)
  return { parties, members, usable: new Set(await judge(members.flatMap((m) => matcher.candidateKeys(m)))) };
}

/** Re-clusters the neighbourhood of the given golden records and applies the difference. */
export async function resolveAround(
  em: EntityManager,
  matcher: Matcher,
  seeds: readonly string[],
  maxNeighbourhood = defaultMaxNeighbourhood,
  opts: { waitForLocks?: boolean } = {},
): Promise<ResolveResult> {
  const result: ResolveResult = { changed: emptyChangeSet(), records: 0, moved: 0, merged: 0, created: 0, reached: [] };
  const { cluster, candidateKeys, linked, batch } = matcher;
  if (!cluster || !candidateKeys || !linked || !batch || seeds.length === 0) return result;
  const { parties, members, usable } = await neighbourhood(
    em,
    { cluster, candidateKeys, linked, batch },
    seeds,
    maxNeighbourhood,
  );
  result.records = members.length;
  result.reached = [...parties];
  if (members.length < 2) return result;
  // Lock what may change in the ingest's order: source records by id, then golden records by id. An ingest
  // transaction can still hold a golden record it locked before a lower one (a merge, then survivorship of the
  // rest: each settle locks in id order, but one after the other), so a pass waiting here could close a cycle
  // (the soak saw one at 600 events/s). So the pass asks for NOWAIT (`waitForLocks: false`, all but a round's last
  // try): a row held by ingest fails the round at once (55P03), which is retried after a pause, never waiting in a
  // cycle.
  const wait = (opts.waitForLocks ?? true) ? '' : ' nowait';
  await executeBound(em, `select 1 from source_record where id = any(?::uuid[]) order by id for no key update${wait}`, [
    members.map((m) => m.recordId),
  ]);
  const partyIds = [...new Set(members.map((m) => m.partyId))].sort();
  await executeBound(em, `select 1 from party where id = any(?::uuid[]) order by id for no key update${wait}`, [
    partyIds,
  ]);

  const clusterOf = cluster(members, (k) => usable.has(k));
  const clusters = new Map<number, Member[]>();
  members.forEach((m, i) => {
    const list = clusters.get(clusterOf[i] as number);
    if (list) list.push(m);
    else clusters.set(clusterOf[i] as number, [m]);
  });
  // Each cluster keeps the golden record most of its records are in (the older one on a tie); a golden record
  // goes to one cluster only, the biggest first.
  const createdAt = new Map(members.map((m) => [m.partyId, m.createdAt]));
  const assigned = new Set<string>();
  const targetOf = new Map<string, string>();
  const ordered = [...clusters.values()].sort(
    (a, b) =>
      b.length - a.length || `${a[0]?.system}/${a[0]?.sourceId}`.localeCompare(`${b[0]?.system}/${b[0]?.sourceId}`),
  );
  const created: { id: string; kind: string }[] = [];
  for (const cluster of ordered) {
    const votes = new Map<string, number>();
    for (const m of cluster) votes.set(m.partyId, (votes.get(m.partyId) ?? 0) + 1);
    const best = [...votes]
      .filter(([p]) => !assigned.has(p))
      .sort(
        (x, y) =>
          y[1] - x[1] ||
          (createdAt.get(x[0]) ?? '').localeCompare(createdAt.get(y[0]) ?? '') ||
          x[0].localeCompare(y[0]),
      )[0]?.[0];
    let target = best;
    if (!target) {
      target = randomUUID();
      const kind = (cluster[0]?.attributes?.kind ??
        (cluster[0]?.profile as { kind?: string } | null)?.kind ??
        'PERSON') as string;
      created.push({ id: target, kind });
    }
    assigned.add(target);
    for (const m of cluster) targetOf.set(m.recordId, target);
  }
  const moves = members.filter((m) => targetOf.get(m.recordId) !== m.partyId);
  if (moves.length === 0) return result;
  for (const p of created)
    await executeBound(em, `insert into party (id, kind, created_at) values (?, ?, clock_timestamp())`, [p.id, p.kind]);
  result.created = created.length;

  const causes = new Map<string, { cause: HistoryCause; detail: Record<string, unknown> }>();
  const byFrom = new Map<string, Member[]>();
  for (const m of moves) byFrom.set(m.partyId, [...(byFrom.get(m.partyId) ?? []), m]);
  const newIds = new Set(created.map((p) => p.id));
  for (const [from, leaving] of byFrom) {
    const [outside] = await executeBound<{ n: number }[]>(
      em,
      `select count(*)::int as n from source_record where party_id = ? and not deleted and not (id = any(?::uuid[]))`,
      [from, members.map((m) => m.recordId)],
    );
    const staying =
      (outside?.n ?? 0) > 0 || members.some((m) => m.partyId === from && targetOf.get(m.recordId) === from);
    const byTo = new Map<string, Member[]>();
    for (const m of leaving)
      byTo.set(targetOf.get(m.recordId) as string, [...(byTo.get(targetOf.get(m.recordId) as string) ?? []), m]);
    // A golden record that keeps none of its records is merged into the one that takes most of them.
    const absorber = staying
      ? null
      : [...byTo].sort((x, y) => y[1].length - x[1].length || x[0].localeCompare(y[0]))[0]?.[0];
    for (const [to, list] of byTo) {
      if (to === absorber) continue;
      const ids = list.map((m) => m.recordId);
      for (const part of chunked(ids, 1000)) {
        await executeBound(em, `update source_record set party_id = ?, linked_at = now() where id = any(?::uuid[])`, [
          to,
          part,
        ]);
        await executeBound(em, `update party_identifier set party_id = ? where source_record_id = any(?::uuid[])`, [
          to,
          part,
        ]);
        await executeBound(em, `update contact_point set party_id = ? where source_record_id = any(?::uuid[])`, [
          to,
          part,
        ]);
      }
      result.moved += ids.length;
      causes.set(to, {
        cause: newIds.has(to) ? 'UNMERGE' : 'MERGE',
        detail: { by: 'resolution pass', from, records: list.map((m) => `${m.system}/${m.sourceId}`) },
      });
      causes.set(from, { cause: 'UNMERGE', detail: { by: 'resolution pass', to } });
      result.changed.customers.add(to).add(from);
    }
    if (absorber) {
      result.moved += byTo.get(absorber)?.length ?? 0;
      await mergeParties(em, absorber, from, 'MATCH', { by: 'resolution pass' });
      result.merged += 1;
      result.changed.customers.add(absorber);
      result.changed.mergedAway.add(from);
      causes.delete(from);
    }
  }
  if (causes.size > 0) await recomputeParties(em, causes);
  return result;
}

/** Golden records touched since `since` (records written after it), oldest first; all with `since` null. */
export async function touchedSince(em: EntityManager, since: Date | null): Promise<string[]> {
  const rows = await executeBound<{ party_id: string }[]>(
    em,
    `select party_id::text as party_id from source_record where party_id is not null and not deleted and (?::timestamptz is null or updated_at > ?::timestamptz)
      group by party_id order by min(updated_at), party_id`,
    [since, since],
  );
  return rows.map((r) => r.party_id);
}

/**
 * One resolution pass over the golden records touched since the last pass (all of them with `full`), in
 * rounds of `seedsPerRound` seeds, each in its own transaction; `onChange` gets each round's change set in the
 * round's transaction (the runtime hands it to risk). The watermark moves to the pass's start less a minute, so
 * a record written by a transaction that committed late is seen by the next pass (seeing it twice is harmless).
 */
export async function resolvePass(
  orm: { em: { fork(): EntityManager } },
  matcher: Matcher,
  onChange: (em: EntityManager, changed: ChangeSet) => Promise<void>,
  opts: { full?: boolean; maxNeighbourhood?: number } = {},
): Promise<Omit<ResolveResult, 'changed' | 'reached'> & { seeds: number }> {
  const total = { seeds: 0, records: 0, moved: 0, merged: 0, created: 0 };
  const em = orm.em.fork();
  const [state] = await executeBound<{ watermark: Date | null; started: Date }[]>(
    em,
    `select (select watermark from resolve_state where name = 'default') as watermark, now() - interval '1 minute' as started`,
  );
  const seeds = await touchedSince(em, opts.full ? null : (state?.watermark ?? null));
  total.seeds = seeds.length;
  const done = new Set<string>();
  for (const round of chunked(seeds, seedsPerRound)) {
    const todo = round.filter((id) => !done.has(id));
    if (todo.length === 0) continue;
    // A round is retried when PostgreSQL aborts it as a deadlock or serialization failure (seen in the soak: a
    // round waiting for golden records an ingest merge held, while that merge waited for source records the round
    // had locked). What a round found counts only once it has committed, so a retry starts from scratch.
    let ran: ResolveResult | null = null;
    for (let attempt = 1; ; attempt += 1) {
      try {
        ran = await orm.em.fork().transactional(async (tx) => {
          // One pass at a time across hub instances: a round that finds another pass running ends this one.
          const [turn] = await executeBound<{ ok: boolean }[]>(
            tx,
            `select pg_try_advisory_xact_lock(hashtextextended('hub:resolve', 0)) as ok`,
          );
          if (!turn?.ok) return null;
          const r = await resolveAround(tx, matcher, todo, opts.maxNeighbourhood, {
            waitForLocks: attempt >= roundAttempts,
          });
          if (r.changed.customers.size + r.changed.mergedAway.size > 0) await onChange(tx, r.changed);
          return r;
        });
        break;
      } catch (e) {
        const cause = retryCause(e);
        const lockBusy = sqlStateOf(e) === '55P03';
        if (attempt >= roundAttempts || (cause !== 'deadlock' && cause !== 'serialization' && !lockBusy)) throw e;
        retriesTotal.inc({ connector: 'resolution-pass', cause });
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (1 + Math.random())));
      }
    }
    if (ran === null) return total;
    total.records += ran.records;
    total.moved += ran.moved;
    total.merged += ran.merged;
    total.created += ran.created;
    // A seed whose neighbourhood an earlier round clustered (whole: its component) is not clustered again, so
    // each record counts once in `records` whatever order the seeds come in.
    for (const id of [...ran.reached, ...ran.changed.customers, ...ran.changed.mergedAway]) done.add(id);
  }
  await executeBound(
    em,
    `insert into resolve_state (name, watermark) values ('default', ?) on conflict (name) do update set watermark = excluded.watermark`,
    [state?.started ?? new Date()],
  );
  return total;
}
