import { marks } from '../../db/sql-sets.ts';
import { executeBound } from '../../db/bound-sql.ts';
import { readFileSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PartyAttributes } from '../../domain/canonical.ts';
import { candidatePairs, defaultBlockingRules } from './engine/blocking.ts';
import { defaultComparisons } from './engine/comparisons.ts';
import {
  conflictIndexesOf,
  defaultEngineSettings,
  differentResidentIds,
  pairDecider,
  comparedPairs,
  scoreAndCluster,
  strongConflict,
} from './engine/engine.ts';
import { FellegiSunterModel, type ModelParams } from './engine/fellegi-sunter.ts';
import { toMatchRecord, type MatchRecord } from './engine/match-record.ts';
import { countBlocks } from './block-sizes.ts';
import type { BatchMatching, Matcher, MatchCandidate, MatchDecision, MatchSubject, PartyEvidence } from './matcher.ts';

/**
 * Streaming identity resolution with the same comparisons, blocking keys, deterministic rule and thresholds as
 * the batch engine (`match-file`), against the golden store: candidates are the live linked source records
 * that share a blocking key (keys with more than `maxBlockSize` records are skipped as non-evidence), each is
 * scored with the configured Fellegi-Sunter parameters, and the evidence is aggregated per golden party
 * (its best-scoring record).
 */
const defaultModelUrl = new URL('./engine/default-model.json', import.meta.url);

export function toMatchRecordFromAttributes(
  index: number,
  system: string,
  sourceId: string,
  a: PartyAttributes,
): MatchRecord {
  const id =
    a.identifiers.find((i) => i.valid && i.value !== null && i.type !== 'USCC') ??
    a.identifiers.find((i) => i.valid && i.value !== null);
  const mobile = a.contactPoints.find(
    (c) => (c.kind === 'MOBILE' || c.kind === 'LANDLINE') && c.valid && c.searchKey !== null,
  );
  const email = a.contactPoints.find((c) => c.kind === 'EMAIL' && c.valid);
  const address = a.contactPoints.find((c) => c.kind === 'ADDRESS');
  const record = toMatchRecord(index, system, sourceId, {
    familyName: a.kind === 'PERSON' ? a.familyName : null,
    givenName: a.kind === 'PERSON' ? a.givenName : null,
    fullName: a.nameKey ?? a.fullName,
    birthDate: a.birthDate,
    sex: a.sex,
    idNumber: id?.value ?? null,
    idType: id?.type === 'RESIDENT_ID' ? '01' : id ? '99' : null,
    phone: mobile?.searchKey ?? null,
    email: email?.value ?? null,
    addressLine: address?.value ?? null,
  });
  return { ...record, kind: a.kind };
}

export function createProbabilisticMatcher(opts: { modelFile?: string; maxBlockSize?: number } = {}): Matcher {
  const params = JSON.parse(readFileSync(opts.modelFile ?? defaultModelUrl, 'utf8')) as ModelParams;
  const model = FellegiSunterModel.fromParams(defaultComparisons, params);
  const { matchThreshold, reviewThreshold, clusterThreshold } = defaultEngineSettings;
  const conflicts = conflictIndexesOf(defaultComparisons);
  const maxBlock = opts.maxBlockSize ?? defaultEngineSettings.maxBlockSize;
  const idIndex = defaultComparisons.findIndex((c) => c.name === 'idNumber');
  const nameIndexes = defaultComparisons
    .map((c, i) => (['givenName', 'familyName', 'fullName'].includes(c.name) ? i : -1))
    .filter((i) => i >= 0);

  const capOf = new Map(defaultBlockingRules.map((r) => [r.name, r.maxBlockSize ?? maxBlock]));
  // A batch asks for one record's keys and normalised view several times (locking, blocking, deciding,
  // storing); the normalisation (pinyin, name splitting, address parsing) is the costly part, so both are kept
  // per attributes object, which the sync step never mutates.
  const normalised = new WeakMap<PartyAttributes, MatchRecord>();
  const keyed = new WeakMap<PartyAttributes, string[]>();
  const normalise = (a: PartyAttributes): MatchRecord => {
    let r = normalised.get(a);
    if (!r) normalised.set(a, (r = toMatchRecordFromAttributes(0, '', '', a)));
    return r;
  };
  const keysOfRecord = (r: MatchRecord): string[] => {
    const keys = new Set<string>();
    for (const rule of defaultBlockingRules) {
      const k = rule.key(r);
      if (k !== null) keys.add(`${rule.name}:${k}`);
    }
    return [...keys].sort();
  };
  const keysOf = (a: PartyAttributes): string[] => {
    const cached = keyed.get(a);
    if (cached) return cached;
    const sorted = keysOfRecord(normalise(a));
    keyed.set(a, sorted);
    return sorted;
  };

  const scorePair = (me: MatchRecord, other: MatchRecord) => {
    if (differentResidentIds(me, other)) return null;
    const levels = model.levelsOf(me, other);
    const scored = model.score(me, other, true, levels);
    const sameId =
      idIndex >= 0 &&
      levels[idIndex] === 0 &&
      nameIndexes.every((ni) => levels[ni] === null || (levels[ni] as number) <= 3);
    // Shared contact evidence with a disagreeing birth date, sex or name is at most a possible match (as in
    // the batch engine): a child on a parent's mobile, spouses, an agent's mobile on leads, a recycled number.
    const conflict = sameId ? null : strongConflict(levels, conflicts);
    const probability = sameId
      ? Math.max(scored.probability, 0.999)
      : conflict !== null
        ? Math.min(scored.probability, matchThreshold - 0.001)
        : scored.probability;
    return { levels, scored, sameId, conflict, probability };
  };
  const recordOf = (c: MatchCandidate, index: number): MatchRecord | null =>
    c.profile
      ? { ...(c.profile as MatchRecord), index }
      : c.attributes
        ? toMatchRecordFromAttributes(index, c.system, c.sourceId, c.attributes)
        : null;
  /**
   * Whether `me` matches a golden record as a whole, given its members: null when it does, else why not. The
   * same test as the batch engine's clustering (engine.ts resolveRecords): no member with a different valid
   * resident id or strong non-match evidence, and the cross pairs at least `clusterThreshold` on average.
   */
  const wholeOf = (mine: readonly MatchRecord[], members: readonly MatchRecord[]): string | null => {
    let total = 0;
    let n = 0;
    for (const x of mine)
      for (const y of members) {
        if (differentResidentIds(x, y)) return `a member holds another resident id (${y.source}/${y.recordId})`;
        const s = scorePair(x, y);
        if (s === null) return `a member holds another resident id (${y.source}/${y.recordId})`;
        if (s.conflict !== null) return `a member conflicts on ${s.conflict} (${y.source}/${y.recordId})`;
        total += s.sameId ? 1 : s.scored.probability;
        n += 1;
      }
    return n === 0 || total / n >= clusterThreshold ? null : `matches its members ${(total / n).toFixed(2)} on average`;
  };
  // The resolution pass asks about the same candidate objects many times (src/sync/resolve.ts).
  const candidateRecords = new WeakMap<MatchCandidate, MatchRecord | null>();
  const recordOfCandidate = (c: MatchCandidate): MatchRecord | null => {
    let r = candidateRecords.get(c);
    if (r === undefined) {
      r = recordOf(c, 0);
      if (r) r = { ...r, source: c.system, recordId: c.sourceId };
      candidateRecords.set(c, r);
    }
    return r;
  };
  const decidePair = pairDecider(model, defaultEngineSettings);
  const membersAsRecords = (list: readonly MatchCandidate[]) =>
    list.flatMap((c, i) => {
      const r = recordOf(c, i + 1);
      return r ? [{ ...r, source: c.system, recordId: c.sourceId }] : [];
    });

  // The same per-rule caps as the batch engine (weak single keys are capped lower); +1 for the record itself.
  const capOfKey = (key: string) => (capOf.get(key.slice(0, key.indexOf(':'))) ?? maxBlock) + 1;
  const batch: BatchMatching = {
    countLimit: (key) => capOfKey(key) + 1,
    usable: (key, n) => n > 0 && n <= capOfKey(key),
    decide(subject, candidates, membersOf) {
      const own = (subject.profile as MatchRecord | undefined) ?? normalise(subject.attributes);
      const me: MatchRecord = { ...own, source: subject.system, recordId: subject.sourceId };
      const best = new Map<string, PartyEvidence>();
      for (const c of candidates) {
        const other = c.profile
          ? { ...(c.profile as MatchRecord), index: 1 }
          : c.attributes
            ? toMatchRecordFromAttributes(1, c.system, c.sourceId, c.attributes)
            : null;
        if (other === null || (other.kind ?? 'PERSON') !== subject.attributes.kind) continue;
        const s = scorePair(me, other);
        if (s === null) continue;
        const { levels, scored, sameId, probability } = s;
        if (probability < reviewThreshold) continue;
        const evidence: PartyEvidence = {
          partyId: c.partyId,
          probability,
          linkType:
            sameId && levels[idIndex] === 0 && me.idNumber !== null && /^\d{17}[\dX]$/.test(me.idNumber)
              ? 'EXACT_ID'
              : 'PROBABILISTIC',
          explanation: {
            decision: probability >= matchThreshold ? 'MATCH' : 'POSSIBLE_MATCH',
            probability,
            candidatePartyId: c.partyId,
            comparisons: scored.explanation ?? [],
            note: `${sameId ? 'same id number and compatible name; ' : ''}best evidence: ${c.system}/${c.sourceId}`,
          },
        };
        const prev = best.get(c.partyId);
        if (!prev || prev.probability < probability) best.set(c.partyId, evidence);
      }
      // A partial record — no identity document, so the phone is what links it (an app user who never verified,
      // a lead) — links only when the phone is held by exactly one golden record it could be; a phone several
      // plausible people hold leaves every candidate a possible match, for review.
      if (me.idNumber === null && me.phone !== null) {
        const holders = new Set<string>();
        for (const c of candidates) {
          const other = recordOf(c, 1);
          // Holders the record clearly is not (another resident id, two strong disagreements) do not count.
          if (other?.phone === me.phone && scorePair(me, other)?.conflict === null) holders.add(c.partyId);
        }
        if (holders.size > 1)
          for (const e of best.values()) {
            if (e.probability < matchThreshold) continue;
            const demoted = Math.min(e.probability, matchThreshold - 0.001);
            best.set(e.partyId, {
              ...e,
              probability: demoted,
              explanation: {
                ...e.explanation,
                decision: 'POSSIBLE_MATCH',
                probability: demoted,
                note: `${e.explanation.note}; not linked: a record without an identity document, and ${holders.size} golden records hold its phone`,
              },
            });
          }
      }
      // Decided at the level of the golden record: a match with one member is not enough when the record as a
      // whole does not match (a chain of locally plausible links); such a party is a possible match, for review.
      if (membersOf)
        for (const e of best.values()) {
          if (e.probability < matchThreshold) continue;
          const others = membersOf(e.partyId).filter((c) => c.recordId !== subject.recordId);
          const why = wholeOf([me], membersAsRecords(others));
          if (why === null) continue;
          const demoted = Math.min(e.probability, matchThreshold - 0.001);
          best.set(e.partyId, {
            ...e,
            probability: demoted,
            explanation: {
              ...e.explanation,
              decision: 'POSSIBLE_MATCH',
              probability: demoted,
              note: `${e.explanation.note}; not linked: ${why}`,
            },
          });
        }
      const all = [...best.values()];
      return {
        matches: all.filter((e) => e.probability >= matchThreshold),
        possible: all.filter((e) => e.probability < matchThreshold),
      };
    },
  };

  return {
    name: 'fellegi-sunter',
    keys: keysOf,
    profile: (a) => normalise(a),
    matchesPair: (a, b) => {
      const s = scorePair(toMatchRecordFromAttributes(0, '', '', a), toMatchRecordFromAttributes(1, '', '', b));
      return s !== null && s.probability >= matchThreshold;
    },
    batch,
    wholeMatch: (a, b) => wholeOf(membersAsRecords(a), membersAsRecords(b)),
    candidateKeys: (c) => {
      const r = recordOfCandidate(c);
      return r ? keysOfRecord(r) : [];
    },
    linked: (a, b) => {
      const x = recordOfCandidate(a);
      const y = recordOfCandidate(b);
      return x !== null && y !== null && decidePair(x, y)?.decision === 'MATCH';
    },
    cluster(list, usable) {
      // People and organisations never share a golden record: each kind is clustered on its own.
      const out = list.map((_, i) => i);
      const byKind = new Map<string, { at: number; record: MatchRecord }[]>();
      list.forEach((c, at) => {
        const r = recordOf(c, 0);
        if (!r) return;
        const kind = r.kind ?? 'PERSON';
        // Appended in place: a component can hold hundreds of thousands of records (the bulk load).
        const group = byKind.get(kind);
        if (group) group.push({ at, record: r });
        else byKind.set(kind, [{ at, record: r }]);
      });
      for (const group of byKind.values()) {
        // recordOf made each record afresh: numbered in place rather than copied again (a component of the bulk
        // load holds hundreds of thousands).
        const records = group.map((g, i) => {
          g.record.index = i;
          g.record.source = list[g.at]?.system ?? '';
          g.record.recordId = list[g.at]?.sourceId ?? '';
          return g.record;
        });
        const { pairs } = candidatePairs(records, { maxBlockSize: maxBlock, usable });
        const { clusterOf } = scoreAndCluster(
          records,
          comparedPairs(records, pairs, model),
          model,
          defaultEngineSettings,
          (phone) => usable(`phone:${phone}`),
        );
        group.forEach((g, i) => {
          out[g.at] = (group[clusterOf[i] as number] as { at: number }).at;
        });
      }
      return out;
    },
    async match(em: EntityManager, subject: MatchSubject): Promise<MatchDecision> {
      const keys = keysOf(subject.attributes);
      if (keys.length === 0) return { matches: [], possible: [] };
      const sizes = await countBlocks(em, keys, batch.countLimit);
      const usable = keys.filter((k) => batch.usable(k, sizes.get(k) ?? 0));
      if (usable.length === 0) return { matches: [], possible: [] };
      const candidates = await executeBound<
        {
          id: string;
          party_id: string;
          system: string;
          source_id: string;
          profile: MatchRecord | null;
          attributes: PartyAttributes | null;
        }[]
      >(
        em,
        `select distinct on (sr.id) sr.id, sr.party_id, sr.system, sr.source_id, sr.match_profile as profile, case when sr.match_profile is null then sr.attributes end as attributes
           from match_key mk join source_record sr on sr.id = mk.source_record_id
           join party p on p.id = sr.party_id and p.status = 'ACTIVE'
          where mk.key_hash in (${marks(usable.length, 'hashtextextended(?, 0)')}) and sr.id <> ? and not sr.deleted
            and sr.party_id not in (select party_id from match_rejection where source_record_id = ?)`,
        [...usable, subject.recordId, subject.recordId],
      );
      const members = await membersOfParties(em, [...new Set(candidates.map((c) => c.party_id))]);
      return batch.decide(
        subject,
        candidates.map((c) => ({
          recordId: c.id,
          partyId: c.party_id,
          system: c.system,
          sourceId: c.source_id,
          profile: c.profile,
          attributes: c.attributes,
        })),
        (partyId) => members.get(partyId) ?? [],
      );
    },
  };
}

/**
 * Every live record of the given golden records, as match candidates (for decisions on the record as a whole),
 * each party's in record id order. `known`: live records of these parties the caller already read the same way
 * (the candidates of a batch's blocks): they are not read again. Most golden records are one or two source records,
 * and those are usually the candidates themselves — a catch-up read half its candidates' profiles twice.
 */
export async function membersOfParties(
  em: EntityManager,
  partyIds: readonly string[],
  known: ReadonlyMap<string, MatchCandidate> = new Map(),
): Promise<Map<string, MatchCandidate[]>> {
  const out = new Map<string, MatchCandidate[]>();
  if (partyIds.length === 0) return out;
  const wanted = new Set(partyIds);
  const skip: string[] = [];
  for (const c of known.values()) {
    if (!wanted.has(c.partyId)) continue;
    skip.push(c.recordId);
    const list = out.get(c.partyId) ?? [];
    list.push(c);
    out.set(c.partyId, list);
  }
  const rows = await executeBound<
    {
      id: string;
      party_id: string;
      system: string;
      source_id: string;
      profile: MatchRecord | null;
      attributes: PartyAttributes | null;
    }[]
  >(
    em,
    `select sr.id, sr.party_id, sr.system, sr.source_id, sr.match_profile as profile, case when sr.match_profile is null then sr.attributes end as attributes
       from source_record sr where sr.party_id = any(?::uuid[]) and not sr.deleted and sr.id <> all(?::uuid[]) order by sr.id`,
    [partyIds, skip],
    { prepared: true },
  );
  for (const r of rows) {
    const list = out.get(r.party_id) ?? [];
    list.push({
      recordId: r.id,
      partyId: r.party_id,
      system: r.system,
      sourceId: r.source_id,
      profile: r.profile,
      attributes: r.attributes,
    });
    out.set(r.party_id, list);
  }
  // Record id order, as the statement alone gave it: uuid text in lower case sorts as PostgreSQL sorts uuids.
  if (skip.length > 0) for (const list of out.values()) list.sort((a, b) => (a.recordId < b.recordId ? -1 : 1));
  return out;
}
