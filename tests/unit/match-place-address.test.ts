import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultComparisons } from '../../src/sync/match/engine/comparisons.ts';
import { defaultEngineSettings } from '../../src/sync/match/engine/engine.ts';
import { FellegiSunterModel, type ModelParams } from '../../src/sync/match/engine/fellegi-sunter.ts';
import { addressFeatures, type MatchRecord, toMatchRecord } from '../../src/sync/match/engine/match-record.ts';
import { toMatchRecordFromAttributes } from '../../src/sync/match/probabilistic.matcher.ts';
import { personAttributes } from '../../src/connectors/framework/party-builder.ts';

describe('a place-only address in the match record', () => {
  it('is the city, not an address line', () => {
    expect(addressFeatures('杭州', null)).toEqual({ addressLine: null, city: '杭州' });
    expect(addressFeatures('杭州市', null)).toEqual({ addressLine: null, city: '杭州' });
    expect(addressFeatures('浙江省杭州市', null)).toEqual({ addressLine: null, city: '杭州' });
    expect(addressFeatures('上海市浦东新区', null)).toEqual({ addressLine: null, city: '上海' });
    // A province alone names no city.
    expect(addressFeatures('浙江省', null)).toEqual({ addressLine: null, city: null });
    // A city given separately wins.
    expect(addressFeatures('杭州', '宁波市')).toEqual({ addressLine: null, city: '宁波' });
  });

  it('leaves a street address an address line (with its city)', () => {
    expect(addressFeatures('浙江省杭州市西湖区文三路 90 号', null)).toEqual({
      addressLine: '浙江省杭州市西湖区文三路90号',
      city: '杭州',
    });
    expect(addressFeatures('上海市长宁区虹桥小区', null).addressLine).toBe('上海市长宁区虹桥小区');
    expect(addressFeatures(null, null)).toEqual({ addressLine: null, city: null });
  });

  it('is how a lead with only a city is matched (toMatchRecordFromAttributes)', () => {
    const lead = toMatchRecordFromAttributes(
      0,
      'agency-crm',
      'L1',
      personAttributes({ name: '王伟', mobile: null, birthDate: null, sex: 'M', address: '杭州' }),
    );
    expect(lead.addressLine).toBeNull();
    expect(lead.city).toBe('杭州');
  });

  it('no longer scores two strangers of one city and a common name as an address match', () => {
    const params = JSON.parse(
      readFileSync(new URL('../../src/sync/match/engine/default-model.json', import.meta.url), 'utf8'),
    ) as ModelParams;
    const model = FellegiSunterModel.fromParams(defaultComparisons, params);
    const score = (x: MatchRecord, y: MatchRecord) => model.score(x, y, true, model.levelsOf(x, y)).probability;
    // Two leads, same common name and city, nothing else: different people as far as anyone can tell.
    const a = toMatchRecord(0, 'agency-crm', 'L1', { fullName: '王伟', sex: 'M', addressLine: '杭州' });
    const b = toMatchRecord(1, 'agency-crm', 'L2', { fullName: '王伟', sex: 'M', addressLine: '杭州' });
    const address = defaultComparisons.findIndex((c) => c.name === 'addressLine');
    const city = defaultComparisons.findIndex((c) => c.name === 'city');
    expect(model.levelsOf(a, b)[address]).toBeNull();
    expect(model.levelsOf(a, b)[city]).toBe(0);
    // As they were scored before: the place as an exactly equal address line.
    const before = score({ ...a, addressLine: '杭州' }, { ...b, addressLine: '杭州' });
    const after = score(a, b);
    expect(after).toBeLessThan(before);
    expect(after).toBeLessThan(defaultEngineSettings.reviewThreshold);
    console.log(`same name, same city: ${before.toFixed(4)} as an address line, ${after.toFixed(4)} as a city`);
  });
});
