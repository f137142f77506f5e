import { describe, expect, it } from 'vitest';
import { survive, type SurvivorCandidate } from '../../src/sync/survivorship.ts';
import type { PartyAttributes } from '../../src/domain/canonical.ts';
import { candidatePairs } from '../../src/sync/match/engine/blocking.ts';
import { pairwiseScores, resolveRecords } from '../../src/sync/match/engine/engine.ts';
import { toMatchRecord } from '../../src/sync/match/engine/match-record.ts';
import { residentId } from '../../src/connectors/core-policy/fixtures/events.ts';

const attrs = (over: Partial<PartyAttributes>): PartyAttributes => ({
  kind: 'PERSON',
  fullName: null,
  familyName: null,
  givenName: null,
  nameKey: null,
  birthDate: null,
  sex: null,
  occupationCode: null,
  identifiers: [],
  contactPoints: [],
  ...over,
});
const cand = (id: string, time: string, a: Partial<PartyAttributes>, system = 'core-policy'): SurvivorCandidate => ({
  sourceRecordId: id,
  system,
  sourceId: id,
  sourceTime: new Date(time),
  attributes: attrs(a),
});

describe('survivorship', () => {
  it('takes the most recent non-empty value and records which source supplied it', () => {
    const { values, lineage } = survive([
      cand('old', '2026-01-01T00:00:00Z', { fullName: '王小明', occupationCode: 'A01' }),
      cand('new', '2026-06-01T00:00:00Z', { fullName: '王曉明', occupationCode: null }),
    ]);
    expect(values.displayName).toBe('王曉明');
    expect(lineage.displayName).toMatchObject({ sourceRecordId: 'new', sourceTime: '2026-06-01T00:00:00.000Z' });
    // null never wins over a value
    expect(values.occupationCode).toBe('A01');
    expect(lineage.occupationCode?.sourceRecordId).toBe('old');
  });
  it('lets the more trusted source win the name over a more recent, less trusted one (config/survivorship.json)', () => {
    const { values, lineage } = survive([
      cand('policy', '2026-01-01T00:00:00Z', { fullName: '王小明' }, 'core-policy'),
      cand('lead', '2026-06-01T00:00:00Z', { fullName: '王曉明' }, 'agency-crm'),
    ]);
    expect(values.displayName).toBe('王小明');
    expect(lineage.displayName?.system).toBe('core-policy');
  });
  it('prefers a birth date backed by a valid resident id over a more recent typo', () => {
    const id = residentId('110105', '19850307', '123');
    const { values, lineage } = survive([
      cand('backed', '2026-01-01T00:00:00Z', {
        birthDate: '1985-03-07',
        identifiers: [{ type: 'RESIDENT_ID', value: id, raw: id, valid: true, issues: [] }],
      }),
      cand('typo', '2026-06-01T00:00:00Z', { birthDate: '1985-07-03' }),
    ]);
    expect(values.birthDate).toBe('1985-03-07');
    expect(lineage.birthDate?.sourceRecordId).toBe('backed');
  });
});

describe('matching engine', () => {
  const rec = (i: number, source: string, a: Record<string, string | null>) =>
    toMatchRecord(i, source, `${source}${i}`, a);
  it('blocks on several keys and skips giant blocks', () => {
    const records = Array.from({ length: 150 }, (_, i) =>
      rec(i, 'a', { familyName: '王', givenName: `${i}`, birthDate: null, phone: '02162345678' }),
    );
    const { pairs, stats } = candidatePairs(records, { maxBlockSize: 100 });
    // 150 records share a switchboard number: the block is skipped, not compared 11,175 times.
    expect(stats.rules.phone).toMatchObject({ skippedBlocks: 1, skippedRecords: 150 });
    expect(pairs.size).toBe(0);
  });
  it('links a traditional-character, reformatted duplicate and keeps namesakes with other ids apart', () => {
    const id1 = residentId('110105', '19850307', '123');
    const id2 = residentId('110105', '19850307', '135');
    const records = [
      rec(0, 'a', { familyName: '张', givenName: '伟', birthDate: '1985-03-07', idNumber: id1, phone: '13800138000' }),
      rec(1, 'b', {
        familyName: '張',
        givenName: '偉',
        birthDate: '1985/3/7',
        idNumber: null,
        phone: '+86 138 0013 8000',
      }),
      // a namesake born the same day with another valid id: a different person however much else agrees
      rec(2, 'b', { familyName: '张', givenName: '伟', birthDate: '1985-03-07', idNumber: id2, phone: '13700137000' }),
      ...Array.from({ length: 300 }, (_, i) =>
        rec(3 + i, 'a', {
          familyName: ['李', '赵', '周'][i % 3] ?? '李',
          givenName: `名${i}`,
          birthDate: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
          phone: `139${String(i).padStart(8, '0')}`,
        }),
      ),
    ];
    const result = resolveRecords(records, { uSamples: 20_000 });
    expect(result.clusterOf[1]).toBe(result.clusterOf[0]);
    expect(result.clusterOf[2]).not.toBe(result.clusterOf[0]);
    const truth = records.map((r) => (r.index <= 1 ? 'p1' : `x${r.index}`));
    expect(pairwiseScores(result.clusterOf, truth)).toMatchObject({ precision: 1, recall: 1 });
  });
  it('scores pairwise precision, recall and F1 as the benchmark README defines', () => {
    expect(pairwiseScores([0, 0, 0, 3], ['a', 'a', 'b', 'b'])).toMatchObject({
      predictedPairs: 3,
      truePairs: 2,
      correctPairs: 1,
      precision: 1 / 3,
      recall: 0.5,
    });
  });
});
