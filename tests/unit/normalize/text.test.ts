import { describe, expect, it } from 'vitest';
import { cleanText, isPlaceholder } from '../../../src/domain/normalize/index.ts';

describe('cleanText', () => {
  it('trims CHAR padding, full-width spaces and surrounding whitespace', () => {
    expect(cleanText('C1000001')).toBe('C1000001');
    expect(cleanText('王                            ')).toBe('王');
    expect(cleanText('\u3000王小明\u3000')).toBe('王小明');
    expect(cleanText('\t 王小明 \n')).toBe('王小明');
  });
  it('applies NFKC: full-width letters, digits and punctuation become half-width', () => {
    expect(cleanText('ＡＢＣ１２３')).toBe('ABC123');
    expect(cleanText('（中国）')).toBe('(中国)');
    expect(cleanText('ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ')).toBe('wang@example.cn');
  });
  it('collapses inner runs of whitespace to one space', () => {
    expect(cleanText('WANG    XIAOMING')).toBe('WANG XIAOMING');
    expect(cleanText('王\u3000\u3000小明')).toBe('王 小明');
  });
  it('removes invisible characters (zero-width space, byte-order mark, soft hyphen)', () => {
    expect(cleanText('\uFEFF王\u200B小明\u00AD')).toBe('王小明');
  });
  it('is null for null, undefined and blank input', () => {
    for (const raw of [null, undefined, '', '    ', '\u3000\u3000', '\u200B']) expect(cleanText(raw)).toBeNull();
  });
});

describe('isPlaceholder', () => {
  it('recognises values sources use for "unknown"', () => {
    for (const s of ['无', '不详', '未知', '暂无', 'N/A', 'n/a', 'NULL', 'none', '-', '--'])
      expect(isPlaceholder(s)).toBe(true);
    for (const s of ['王', '13800138000', 'NA123']) expect(isPlaceholder(s)).toBe(false);
  });
});
