import { randomUUID } from 'node:crypto';
import type { AttributeVersions, PartyAttributes, PartyUpsert } from '../domain/canonical.ts';
import type { MatchExplanation } from '../model/source-record.entity.ts';
import type { Matcher, MatchCandidate } from './match/matcher.ts';

/**
 * Identity resolution of a whole snapshot at once, for the bulk initial load (src/ingest/bulk-load.ts): the
 * partition the streaming path reaches after its resolution pass (resolve.ts), computed directly.
 *   1. Every live record gets its blocking keys; records sharing a usable block (`BatchMatching.usable`: small
 *      enough for its rule, counted over the whole snapshot) are joined (union–find) — the closure the resolution
 *      pass walks, so each component is exactly a neighbourhood the pass would re-cluster whole.
 *   2. Each component is clustered by the matcher's batch engine (`Matcher.cluster`) over the usable blocks,
 *      independent of order.
 *   3. Each record is explained as streaming explains it: decided (`BatchMatching.decide`) against the records of
 *      its component it shares a usable block with, as golden records; a golden record it matches or possibly
 *      matches other than its own is a review task — one per pair of golden records (`addReview`), not one per
 *      record and side.
 * The result is a segment of writes (new golden records and source records, keys, reviews) for the caller.
 */
/**
 * A source record's last state as the bulk load holds it until it is written. The whole snapshot is held at once
 * (a million customers are about 2.7 million records), so a record is small: its payload and attributes are
 * UTF-8 JSON in buffers (outside the JavaScript heap, about a third of a parsed object's size and half of a
 * string's for Chinese text), parsed only when matching or writing needs them.
 */
export type SnapshotRecord = {
  system: string;
  sourceId: string;
  sourceVersion: string;
  sourceTime: Date | null;
  fold: AttributeVersions | undefined;
  kind: string;
  raw: Buffer;
  attributes: Buffer;
};
export const snapshotRecord = (u: PartyUpsert): SnapshotRecord => ({
  system: u.system,
  sourceId: u.sourceId,
  sourceVersion: u.sourceVersion,
  sourceTime: u.sourceTime,
  fold: u.fold,
  kind: u.attributes.kind,
  raw: Buffer.from(JSON.stringify(u.raw)),
  attributes: Buffer.from(JSON.stringify(u.attributes)),
});
export const attributesOf = (r: SnapshotRecord): PartyAttributes =>
  JSON.parse(r.attributes.toString('utf8')) as PartyAttributes;

/** One source record's write: its golden record, link, explanation and profile (JSON) and blocking keys. */
export type SnapshotWrite = {
  id: string;
  record: SnapshotRecord;
  partyId: string;
  linkType: string;
  score: number | null;
  explanation: Buffer;
  profile: Buffer | null;
  keys: string[];
};
export type SnapshotReview = { recordId: string; partyId: string; probability: number; explanation: string };
export type SnapshotResolution = {
  parties: { id: string; kind: string }[];
  records: SnapshotWrite[];
  reviews: Map<string, SnapshotReview>;
  components: number;
  largestComponent: number;
};

export function resolveSnapshot(upserts: readonly SnapshotRecord[], matcher: Matcher): SnapshotResolution {
  const cluster = matcher.cluster;
  const matching = matcher.batch;
  if (!cluster || !matching)
    throw new Error(`the bulk load needs a matcher that clusters in batch (matcher ${matcher.name} does not)`);
  const n = upserts.length;
  const ids = upserts.map(() => randomUUID());
  const keysOf: string[][] = new Array(n);
  const profiles: (ReturnType<NonNullable<Matcher['profile']>> | null)[] = new Array(n);
  upserts.forEach((u, i) => {
    const attributes = attributesOf(u);
    keysOf[i] = matcher.keys(attributes);
    profiles[i] = matcher.profile ? matcher.profile(attributes) : null;
  });

  // Blocks over the whole snapshot.
  const blocks = new Map<string, number[]>();
  keysOf.forEach((keys, i) => {
    for (const k of keys) {
      const list = blocks.get(k);
      if (list) list.push(i);
      else blocks.set(k, [i]);
    }
  });

  // 1. Components over blocks the resolution pass would walk: the usable ones.
  const usable = (k: string) => matching.usable(k, blocks.get(k)?.length ?? 0);
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
  for (const [key, members] of blocks) {
    if (members.length < 2 || !usable(key)) continue;
    const root = find(members[0] as number);
    for (const m of members) {
      const r = find(m);
      if (r !== root) parent[r] = root;
    }
  }
  const components = new Map<number, number[]>();
  for (let i = 0; i < n; i += 1) {
    const r = find(i);
    const list = components.get(r);
    if (list) list.push(i);
    else components.set(r, [i]);
  }

  // 2. Clusters per component → golden record ids.
  const partyOf: string[] = new Array(n);
  const candidateOf = (i: number, partyId = partyOf[i] as string): MatchCandidate => {
    const u = upserts[i] as SnapshotRecord;
    return {
      recordId: ids[i] as string,
      partyId,
      system: u.system,
      sourceId: u.sourceId,
      profile: profiles[i] ?? null,
      attributes: profiles[i] === null ? attributesOf(u) : null,
    };
  };
  const parties: SnapshotResolution['parties'] = [];
  const records: SnapshotWrite[] = [];
  const reviews = new Map<string, SnapshotReview>();
  const membersOfParty = new Map<string, number[]>();
  let largest = 0;
  for (const members of components.values()) {
    largest = Math.max(largest, members.length);
    const clusterOf =
      members.length === 1
        ? [0]
        : cluster(
            members.map((i) => candidateOf(i, '')),
            usable,
          );
    const partyByCluster = new Map<number, string>();
    members.forEach((i, at) => {
      const c = clusterOf[at] as number;
      let party = partyByCluster.get(c);
      if (party === undefined) {
        party = randomUUID();
        partyByCluster.set(c, party);
        parties.push({ id: party, kind: (upserts[i] as SnapshotRecord).kind });
        membersOfParty.set(party, []);
      }
      partyOf[i] = party;
      membersOfParty.get(party)?.push(i);
    });
  }

  // 3. Links, explanations and review tasks, as streaming would write them.
  const byKey = (i: number) => {
    const u = upserts[i] as SnapshotRecord;
    return `${u.system}\u0000${u.sourceId}`;
  };
  for (const [party, members] of membersOfParty) {
    // The golden record's first record (by source key) is the one it was "created" by; the others link to it.
    const ordered = [...members].sort((a, b) => (byKey(a) < byKey(b) ? -1 : 1));
    for (const [rank, i] of ordered.entries()) {
      const u = upserts[i] as SnapshotRecord;
      const recordId = ids[i] as string;
      const others = new Set<number>();
      for (const k of keysOf[i] as string[])
        if (usable(k)) for (const j of blocks.get(k) ?? []) if (j !== i) others.add(j);
      let link: { linkType: string; score: number | null } = { linkType: 'NEW', score: null };
      let explanation: MatchExplanation = {
        decision: 'NEW',
        probability: null,
        candidatePartyId: null,
        comparisons: [],
        note: 'no golden record matches',
      };
      if (others.size > 0) {
        const decision = matching.decide(
          { recordId, system: u.system, sourceId: u.sourceId, attributes: attributesOf(u) },
          [...others].map((j) => candidateOf(j)).sort((a, b) => (a.recordId < b.recordId ? -1 : 1)),
          (p) => (membersOfParty.get(p) ?? []).filter((j) => j !== i).map((j) => candidateOf(j)),
        );
        const own = decision.matches.find((e) => e.partyId === party);
        if (rank > 0) {
          link = own
            ? { linkType: own.linkType, score: own.explanation.probability }
            : { linkType: 'PROBABILISTIC', score: null };
          explanation = own?.explanation ?? {
            decision: 'MATCH',
            probability: null,
            candidatePartyId: party,
            comparisons: [],
            note: 'clustered with its golden record as a whole by the bulk load (batch engine)',
          };
        } else if (decision.possible.length > 0)
          explanation = { ...explanation, note: 'possible matches sent to review' };
        for (const e of [...decision.matches, ...decision.possible])
          if (e.partyId !== party)
            addReview(reviews, party, {
              recordId,
              partyId: e.partyId,
              probability: e.probability,
              explanation: JSON.stringify(e.explanation),
            });
      }
      records.push({
        id: recordId,
        record: u,
        partyId: party,
        linkType: link.linkType,
        score: link.score,
        explanation: Buffer.from(JSON.stringify(explanation)),
        profile: profiles[i] == null ? null : Buffer.from(JSON.stringify(profiles[i])),
        keys: keysOf[i] as string[],
      });
    }
  }
  return { parties, records, reviews, components: components.size, largestComponent: largest };
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
