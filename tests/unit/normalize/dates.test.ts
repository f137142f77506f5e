import { describe, expect, it } from 'vitest';
import { fromDebeziumDays, fromMicros, fromYyyymmddInt, parseLooseDate } from '../../../src/domain/normalize/index.ts';

describe('fromYyyymmddInt', () => {
  it('reads YYYYMMDD integers and strings', () => {
    expect(fromYyyymmddInt(19850307)).toBe('1985-03-07');
    expect(fromYyyymmddInt('19850307')).toBe('1985-03-07');
    expect(fromYyyymmddInt(' 20240229 ')).toBe('2024-02-29');
  });
  it('reads 0 and 99999999 as unknown', () => {
    expect(fromYyyymmddInt(0)).toBeNull();
    expect(fromYyyymmddInt(99999999)).toBeNull();
    expect(fromYyyymmddInt('00000000')).toBeNull();
    expect(fromYyyymmddInt(null)).toBeNull();
  });
  it('reads impossible calendar dates as unknown, never guessed', () => {
    expect(fromYyyymmddInt(20230229)).toBeNull();
    expect(fromYyyymmddInt(19851301)).toBeNull();
    expect(fromYyyymmddInt(19850132)).toBeNull();
    expect(fromYyyymmddInt(19850000)).toBeNull();
    expect(fromYyyymmddInt(1985037)).toBeNull(); // 7 digits
  });
});

describe('parseLooseDate', () => {
  it.each([
    ['1985/03/07'],
    ['1985-3-7'],
    ['1985-03-07'],
    ['19850307'],
    ['1985年3月7日'],
    ['1985年03月07日'],
    ['1985 年 3 月 7 日'],
    ['1985.03.07'],
    ['1985/3/7'],
    ['１９８５年３月７日'],
    [' 1985-03-07 '],
    ['1985-03-07T10:00:00+08:00'],
  ])('reads %j', (raw) => {
    expect(parseLooseDate(raw)).toBe('1985-03-07');
  });
  it('is null for empty, impossible or unreadable input', () => {
    for (const raw of [
      null,
      undefined,
      '',
      '   ',
      '1985-02-30',
      '1985-13-01',
      '85-3-7',
      '07/03/1985',
      'soon',
      '0',
      '99999999',
    ])
      expect(parseLooseDate(raw)).toBeNull();
  });
});

describe('Debezium temporal types', () => {
  it('reads io.debezium.time.Date (days since the epoch)', () => {
    expect(fromDebeziumDays(0)).toBe('1970-01-01');
    expect(fromDebeziumDays(19723)).toBe('2024-01-01');
    expect(fromDebeziumDays(-1)).toBe('1969-12-31');
    expect(fromDebeziumDays(null)).toBeNull();
    expect(fromDebeziumDays(1.5)).toBeNull();
  });
  it('reads io.debezium.time.MicroTimestamp (microseconds since the epoch) as a Date', () => {
    expect(fromMicros(1704067200000000)?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(fromMicros('1704067200123456')?.toISOString()).toBe('2024-01-01T00:00:00.123Z');
    expect(fromMicros(1704067200123456n)?.toISOString()).toBe('2024-01-01T00:00:00.123Z');
    expect(fromMicros(0)?.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(fromMicros(null)).toBeNull();
    expect(fromMicros('not a number')).toBeNull();
    expect(fromMicros(Number.NaN)).toBeNull();
  });
});
