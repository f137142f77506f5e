import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../domain/canonical.ts';
import { copyRows } from '../db/copy.ts';
import { executeBound } from '../db/bound-sql.ts';
import type { MatchExplanation } from '../model/source-record.entity.ts';
import type { BatchMatching, Matcher, MatchCandidate } from './match/matcher.ts';
import { cursorRows } from '../db/cursor.ts';
import { StatementLane } from '../db/statement-lane.ts';

/**
 * Identity resolution of a whole snapshot at once, for the bulk initial load (src/ingest/bulk-load.ts): the
 * partition the streaming path reaches after its resolution pass (resolve.ts), computed directly, over the
 * records staged in `bulk_record` (bulk-stage.ts).
 *   1. Every record's matcher profile and blocking keys are computed as the records stream out of the stage; the
 *      keys go back to the database (`bulk_key`), which groups them into blocks. Records sharing a usable block
 *      (`BatchMatching.usable`: small enough for its rule, counted over the whole snapshot) are joined
 *      (union–find) — the closure the resolution pass walks, so each component is exactly a neighbourhood the
 *      pass would re-cluster whole. Meanwhile the database writes the keys to `match_key`.
 *   2. Each component is clustered by the matcher's batch engine (`Matcher.cluster`) over the usable blocks,
 *      independent of order.
 *   3. `explainRecord`: each record is explained as streaming explains it — decided (`BatchMatching.decide`)
 *      against the records of its component it shares a usable block with, as golden records; a golden record it
 *      matches or possibly matches other than its own is a review task, one per pair of golden records
 *      (`addReview`). The writer (bulk-write.ts) calls it as it streams the records out again.
 * Out of core: what stays in memory is per record a profile (the matcher's normalised view, a few hundred bytes),
 * its ids and numbers in typed arrays; payloads, attributes and keys stay in the database (a million customers
 * are about 2.7 million records). The usable blocks are kept as flat integer arrays (CSR), not as a map of keys.
 */
export type SnapshotResolution = {
  /** Per record (by `bulk_record.idx`): its new id, source key and matcher profile. */
  ids: string[];
  systems: string[];
  sourceIds: string[];
  profiles: unknown[];
  /** Only for a matcher without profiles (its candidates carry attributes instead). */
  attributes: (PartyAttributes | null)[] | null;
  parties: { id: string; kind: string }[];
  /** Per record, the number of its golden record in `parties`. */
  partyOf: Int32Array;
  /** Records of each golden record in source-key order: `partyMembers[partyStart[p] .. partyStart[p + 1])`. */
  partyStart: Int32Array;
  partyMembers: Int32Array;
  partyNumber: Map<string, number>;
  /** Usable blocks: members of block b are `blockMembers[blockStart[b] .. blockStart[b + 1])`. */
  blockStart: Int32Array;
  blockMembers: Int32Array;
  /** Usable blocks of record i: `recordBlocks[recordStart[i] .. recordStart[i + 1])`. */
  recordStart: Int32Array;
  recordBlocks: Int32Array;
  reviews: Map<string, SnapshotReview>;
  largestComponent: number;
  /** The `match_key` rows being written while the resolution clusters: their number once written. */
  keysStored: Promise<number>;
};
export type SnapshotReview = { recordId: string; partyId: string; probability: number; explanation: string };

/** A growable array of 32-bit integers (a component's or block's members, flattened). */
class IntList {
  items = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length] = v;
    this.length += 1;
  }
  done(): Int32Array {
    return this.items.slice(0, this.length);
  }
}

/** CSR of `groups` items over `count` groups: `groupOf(item)` numbered, items in ascending order within a group. */
function groupedBy(count: number, items: number, groupOf: (item: number) => number): [Int32Array, Int32Array] {
  const start = new Int32Array(count + 1);
  for (let i = 0; i < items; i += 1) {
    const g = groupOf(i) + 1;
    start[g] = (start[g] as number) + 1;
  }
  for (let g = 0; g < count; g += 1) start[g + 1] = (start[g + 1] as number) + (start[g] as number);
  const fill = start.slice(0, count);
  const members = new Int32Array(items);
  for (let i = 0; i < items; i += 1) {
    const g = groupOf(i);
    members[fill[g] as number] = i;
    fill[g] = (fill[g] as number) + 1;
  }
  return [start, members];
}

/** Record `j` as a match candidate of golden record `partyId`, from the per-record arrays the resolution holds. */
function candidateOf(
  held: Pick<SnapshotResolution, 'ids' | 'systems' | 'sourceIds' | 'profiles' | 'attributes'>,
  j: number,
  partyId: string,
): MatchCandidate {
  return {
    recordId: held.ids[j] as string,
    partyId,
    system: held.systems[j] as string,
    sourceId: held.sourceIds[j] as string,
    profile: held.profiles[j] ?? null,
    attributes: held.attributes?.[j] ?? null,
  };
}

/** Also stores the records' blocking keys in `match_key`, whose foreign key must be dropped (no records yet). */
export async function resolveStaged(em: EntityManager, matcher: Matcher): Promise<SnapshotResolution> {
  const cluster = matcher.cluster;
  const matching = matcher.batch;
  if (!cluster || !matching)
    throw new Error(`the bulk load needs a matcher that clusters in batch (matcher ${matcher.name} does not)`);
  const [size] = await executeBound<{ n: number }[]>(em, 'select count(*)::int as n from bulk_record');
  const n = size?.n ?? 0;
  const ids: string[] = new Array(n);
  const systems: string[] = new Array(n);
  const sourceIds: string[] = new Array(n);
  const kinds: string[] = new Array(n);
  const profiles: unknown[] = new Array(n);
  const attributes: (PartyAttributes | null)[] | null = matcher.profile ? null : new Array(n);
  const interned = new Map<string, string>();
  const intern = (s: string) => interned.get(s) ?? (interned.set(s, s), s);

  // 1. Profiles and keys as the records stream out; blocks grouped by the database.
  await executeBound(em, 'create temporary table bulk_key (idx int not null, key text not null) on commit drop');
  // Each chunk's keys are written while the next chunk's profiles are computed.
  const writes = new StatementLane();
  await writes.around(async () => {
    for await (const rows of cursorRows<{
      idx: number;
      id: string;
      system: string;
      source_id: string;
      attributes: PartyAttributes;
    }>(em, 'bulk_profiles', 'select idx, id, system, source_id, attributes from bulk_record order by idx')) {
      const keyRows: [number, string][] = [];
      for (const r of rows) {
        ids[r.idx] = r.id;
        systems[r.idx] = intern(r.system);
        sourceIds[r.idx] = r.source_id;
        kinds[r.idx] = intern(r.attributes.kind);
        profiles[r.idx] = matcher.profile ? matcher.profile(r.attributes) : null;
        if (attributes) attributes[r.idx] = r.attributes;
        for (const k of matcher.keys(r.attributes)) keyRows.push([r.idx, k]);
      }
      await writes.queue(() => copyRows(em, 'bulk_key', ['idx', 'key'], keyRows));
    }
  });
  const oversized = new Set<string>();
  const blockStartList = new IntList();
  const blockMembersList = new IntList();
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    let j = i;
    while (parent[j] !== r) {
      const next = parent[j] as number;
      parent[j] = r;
      j = next;
    }
    return r;
  };
  for await (const rows of cursorRows<{ key: string; members: number[] }>(
    em,
    'bulk_blocks',
    'select key, array_agg(idx) as members from bulk_key group by key having count(*) > 1',
  ))
    for (const { key, members } of rows) {
      if (!matching.usable(key, members.length)) {
        oversized.add(key);
        continue;
      }
      blockStartList.push(blockMembersList.length);
      const root = find(members[0] as number);
      for (const m of members) {
        blockMembersList.push(m);
        const r = find(m);
        if (r !== root) parent[r] = root;
      }
    }
  // The blocking keys are stored now, by the database, while this process clusters (the keys and record ids are
  // all there; the tables' foreign keys are dropped for the load): one connection, two processors busy.
  const keysStored = storeMatchKeys(em);
  keysStored.catch(() => {}); // awaited by the writer; a failure surfaces there
  const blockCount = blockStartList.length;
  blockStartList.push(blockMembersList.length);
  const blockStart = blockStartList.done();
  const blockMembers = blockMembersList.done();
  const blockOfMembership = new Int32Array(blockMembers.length);
  for (let b = 0; b < blockCount; b += 1)
    blockOfMembership.fill(b, blockStart[b] as number, blockStart[b + 1] as number);
  const [recordStart, membershipsByRecord] = groupedBy(n, blockMembers.length, (m) => blockMembers[m] as number);
  const recordBlocks = membershipsByRecord.map((m) => blockOfMembership[m] as number);

  // Blocks in the snapshot are usable unless oversized: every key a component's records have is counted there.
  const usable = (key: string) => !oversized.has(key);
  const components = new Map<number, number[]>();
  for (let i = 0; i < n; i += 1) {
    const r = find(i);
    const list = components.get(r);
    if (list) list.push(i);
    else components.set(r, [i]);
  }

  // 2. Clusters per component → golden records.
  const held = { ids, systems, sourceIds, profiles, attributes };
  const parties: SnapshotResolution['parties'] = [];
  const partyOf = new Int32Array(n);
  let largest = 0;
  for (const members of components.values()) {
    largest = Math.max(largest, members.length);
    const clusterOf =
      members.length === 1
        ? [0]
        : cluster(
            members.map((i) => candidateOf(held, i, '')),
            usable,
          );
    const partyByCluster = new Map<number, number>();
    members.forEach((i, at) => {
      const c = clusterOf[at] as number;
      let party = partyByCluster.get(c);
      if (party === undefined) {
        party = parties.length;
        partyByCluster.set(c, party);
        parties.push({ id: randomUUID(), kind: kinds[i] as string });
      }
      partyOf[i] = party;
    });
  }
  const [partyStart, partyMembers] = groupedBy(parties.length, n, (i) => partyOf[i] as number);
  return {
    ids,
    systems,
    sourceIds,
    profiles,
    attributes,
    parties,
    partyOf,
    partyStart,
    partyMembers,
    partyNumber: new Map(parties.map((p, at) => [p.id, at])),
    blockStart,
    blockMembers,
    recordStart,
    recordBlocks,
    reviews: new Map(),
    largestComponent: largest,
    keysStored,
  };
}

/**
 * The records' blocking keys into `match_key`, hashed as the candidate search reads them; returns the rows written.
 * In key order, so the primary key's B-tree grows at its right edge instead of splitting pages all over.
 */
async function storeMatchKeys(em: EntityManager): Promise<number> {
  const [row] = await executeBound<{ n: number }[]>(
    em,
    `with written as (
       insert into match_key (key_hash, source_record_id)
       select distinct hashtextextended(k.key, 0) as key_hash, r.id from bulk_key k join bulk_record r using (idx)
        order by 1, 2
       on conflict do nothing returning 1)
     select count(*)::int as n from written`,
  );
  return row?.n ?? 0;
}

/** One source record's link to its golden record, explained as streaming explains it. */
export type SnapshotLink = { partyId: string; linkType: string; score: number | null; explanation: MatchExplanation };

/**
 * Step 3 for record `i` (its attributes read back from the stage): its link and explanation; review tasks for
 * other golden records it matches or possibly matches are added to `resolution.reviews`.
 */
export function explainRecord(
  resolution: SnapshotResolution,
  matching: BatchMatching,
  i: number,
  attributes: PartyAttributes,
): SnapshotLink {
  const r = resolution;
  const partyIdOf = (j: number) => (r.parties[r.partyOf[j] as number] as { id: string }).id;
  const candidate = (j: number) => candidateOf(r, j, partyIdOf(j));
  const party = partyIdOf(i);
  const own = r.partyOf[i] as number;
  // The golden record's first record (by source key: `idx` order) is the one it was "created" by; the others
  // link to it.
  const first = r.partyMembers[r.partyStart[own] as number] === i;
  const others = new Set<number>();
  for (let b = r.recordStart[i] as number; b < (r.recordStart[i + 1] as number); b += 1) {
    const block = r.recordBlocks[b] as number;
    for (let m = r.blockStart[block] as number; m < (r.blockStart[block + 1] as number); m += 1) {
      const j = r.blockMembers[m] as number;
      if (j !== i) others.add(j);
    }
  }
  let link: SnapshotLink = {
    partyId: party,
    linkType: 'NEW',
    score: null,
    explanation: {
      decision: 'NEW',
      probability: null,
      candidatePartyId: null,
      comparisons: [],
      note: 'no golden record matches',
    },
  };
  if (others.size === 0) return link;
  const recordId = r.ids[i] as string;
  const membersOf = (p: string): MatchCandidate[] => {
    const at = r.partyNumber.get(p);
    if (at === undefined) return [];
    const out: MatchCandidate[] = [];
    for (let m = r.partyStart[at] as number; m < (r.partyStart[at + 1] as number); m += 1) {
      const j = r.partyMembers[m] as number;
      if (j !== i) out.push(candidate(j));
    }
    return out;
  };
  const decision = matching.decide(
    {
      recordId,
      system: r.systems[i] as string,
      sourceId: r.sourceIds[i] as string,
      attributes,
      profile: r.profiles[i] ?? undefined,
    },
    [...others].map((j) => candidate(j)).sort((a, b) => (a.recordId < b.recordId ? -1 : 1)),
    membersOf,
  );
  const matched = decision.matches.find((e) => e.partyId === party);
  if (!first)
    link = {
      partyId: party,
      linkType: matched ? matched.linkType : 'PROBABILISTIC',
      score: matched ? matched.explanation.probability : null,
      explanation: matched?.explanation ?? {
        decision: 'MATCH',
        probability: null,
        candidatePartyId: party,
        comparisons: [],
        note: 'clustered with its golden record as a whole by the bulk load (batch engine)',
      },
    };
  else if (decision.possible.length > 0)
    link = { ...link, explanation: { ...link.explanation, note: 'possible matches sent to review' } };
  for (const e of [...decision.matches, ...decision.possible])
    if (e.partyId !== party)
      addReview(r.reviews, party, {
        recordId,
        partyId: e.partyId,
        probability: e.probability,
        explanation: JSON.stringify(e.explanation),
      });
  return link;
}

/**
 * One review task per pair of golden records: whether golden records A and B are one customer is one question,
 * however many of their source records score against each other and from whichever side (per source record the
 * queue asked it up to a dozen times). The task kept is the pair's strongest evidence — the highest probability, the
 * first seen on a tie — on the record of `ownParty` that scored it; it is keyed by the unordered pair.
 */
export function addReview<R extends { partyId: string; probability: number }>(
  reviews: Map<string, R>,
  ownParty: string,
  review: R,
): void {
  const key = ownParty < review.partyId ? `${ownParty}|${review.partyId}` : `${review.partyId}|${ownParty}`;
  const kept = reviews.get(key);
  if (kept === undefined || review.probability > kept.probability) reviews.set(key, review);
}
