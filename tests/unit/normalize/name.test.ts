import { describe, expect, it } from 'vitest';
import { nameKey, normalizeCompanyName, normalizePersonName } from '../../../src/domain/normalize/index.ts';

describe('nameKey', () => {
  it('converts traditional characters to simplified', () => {
    expect(nameKey('張偉')).toBe('张伟');
    expect(nameKey('陳')).toBe('陈');
    expect(nameKey('歐陽')).toBe('欧阳');
    expect(nameKey('歐陽娜娜')).toBe(nameKey('欧阳娜娜'));
    expect(nameKey('劉德華')).toBe('刘德华');
    expect(nameKey('王曉明')).toBe('王晓明');
    expect(nameKey('鄧麗君')).toBe('邓丽君');
    expect(nameKey('黃')).toBe('黄');
  });

  it('also converts Hong Kong and Taiwan variant forms', () => {
    expect(nameKey('衞')).toBe('卫'); // Hong Kong form
    expect(nameKey('衛')).toBe('卫'); // Taiwan / standard traditional form
    expect(nameKey('峯')).toBe('峰');
    // Characters that are already simplified stay as they are (a tw → cn conversion would turn 著 into 着).
    expect(nameKey('么')).toBe('么');
    expect(nameKey('著')).toBe('著');
    expect(nameKey('张伟')).toBe('张伟');
  });

  it('removes spaces (half- and full-width), middle dots and invisible characters', () => {
    expect(nameKey('　陳 曉明　')).toBe('陈晓明');
    expect(nameKey('王\u3000小明')).toBe('王小明');
    expect(nameKey('王\u200B小明')).toBe('王小明');
    expect(nameKey('买买提·艾力')).toBe('买买提艾力');
    expect(nameKey('买买提・艾力')).toBe('买买提艾力');
    expect(nameKey('买买提‧艾力')).toBe('买买提艾力');
    expect(nameKey('约翰•史密斯')).toBe('约翰史密斯');
  });

  it('lower-cases pinyin and Latin names without spaces, hyphens or tone marks', () => {
    expect(nameKey('WANG XIAOMING')).toBe('wangxiaoming');
    expect(nameKey('Wang Xiao-Ming')).toBe('wangxiaoming');
    expect(nameKey('ＷＡＮＧ　ＸＩＡＯＭＩＮＧ')).toBe('wangxiaoming');
    expect(nameKey('Wáng Xiǎomíng')).toBe('wangxiaoming');
    expect(nameKey('OUYANG NANA')).toBe('ouyangnana');
    expect(nameKey('Lǚ Wei')).toBe('lvwei');
    expect(nameKey('LV WEI')).toBe('lvwei');
    expect(nameKey("O'Brien")).toBe('obrien');
  });

  it('is null for empty input', () => {
    for (const empty of [null, undefined, '', '   ', '\u3000', '·']) expect(nameKey(empty)).toBeNull();
  });
});

describe('normalizePersonName', () => {
  it('splits a Han full name after the first character', () => {
    expect(normalizePersonName({ full: '王小明' })).toEqual({
      full: '王小明',
      family: '王',
      given: '小明',
      key: '王小明',
      script: 'HAN',
      issues: [],
    });
    expect(normalizePersonName({ full: '张伟' })).toMatchObject({ family: '张', given: '伟' });
    expect(normalizePersonName({ full: '張偉' })).toMatchObject({ family: '張', given: '偉', key: '张伟' });
  });

  it.each([
    '欧阳',
    '司马',
    '上官',
    '诸葛',
    '东方',
    '皇甫',
    '尉迟',
    '公孙',
    '慕容',
    '令狐',
    '长孙',
    '宇文',
    '司徒',
    '夏侯',
    '端木',
  ])('keeps the compound surname %s together', (surname) => {
    expect(normalizePersonName({ full: `${surname}明` })).toMatchObject({ family: surname, given: '明' });
    expect(normalizePersonName({ full: `${surname}小明` })).toMatchObject({ family: surname, given: '小明' });
  });

  it('recognises compound surnames written in traditional characters, keeping the written form', () => {
    expect(normalizePersonName({ full: '歐陽娜娜' })).toMatchObject({
      family: '歐陽',
      given: '娜娜',
      key: '欧阳娜娜',
      script: 'HAN',
    });
    expect(normalizePersonName({ full: '司馬相如' })).toMatchObject({ family: '司馬', given: '相如', key: '司马相如' });
  });

  it('does not split a two-character name that only looks like a compound surname', () => {
    expect(normalizePersonName({ full: '东方' })).toMatchObject({ family: '东', given: '方' });
  });

  it('joins family and given names when no full name is given', () => {
    expect(normalizePersonName({ family: '王', given: '小明' })).toMatchObject({
      full: '王小明',
      family: '王',
      given: '小明',
      key: '王小明',
    });
    expect(normalizePersonName({ family: '王    ', given: '小明      ' })).toMatchObject({ full: '王小明' }); // CHAR padding
    expect(normalizePersonName({ family: '欧阳', given: '娜娜' })).toMatchObject({
      full: '欧阳娜娜',
      family: '欧阳',
      given: '娜娜',
    });
    expect(normalizePersonName({ family: '陳', given: null })).toMatchObject({
      full: '陳',
      family: '陳',
      given: null,
      key: '陈',
    });
  });

  it('reads pinyin-only names as LATIN (candidates only, never a match alone)', () => {
    expect(normalizePersonName({ family: 'WANG', given: 'XIAOMING' })).toEqual({
      full: 'WANG XIAOMING',
      family: 'WANG',
      given: 'XIAOMING',
      key: 'wangxiaoming',
      script: 'LATIN',
      issues: ['PINYIN_OR_LATIN_ONLY'],
    });
    expect(normalizePersonName({ full: 'Wang Xiao Ming' })).toMatchObject({ key: 'wangxiaoming', script: 'LATIN' });
    expect(normalizePersonName({ full: 'ＷＡＮＧ ＸＩＡＯＭＩＮＧ' })).toMatchObject({
      full: 'WANG XIAOMING',
      key: 'wangxiaoming',
    });
  });

  it('detects mixed scripts', () => {
    expect(normalizePersonName({ full: '王 Xiaoming' })).toMatchObject({
      script: 'MIXED',
      key: '王xiaoming',
      family: null,
      given: null,
    });
  });

  it('splits transliterated names at the middle dot (given · family)', () => {
    expect(normalizePersonName({ full: '阿依古丽·买买提' })).toMatchObject({
      family: '买买提',
      given: '阿依古丽',
      key: '阿依古丽买买提',
    });
    expect(normalizePersonName({ full: '约翰・史密斯' })).toMatchObject({ family: '史密斯', given: '约翰' });
  });

  it('reports an empty name', () => {
    expect(normalizePersonName({})).toEqual({
      full: null,
      family: null,
      given: null,
      key: null,
      script: null,
      issues: ['EMPTY'],
    });
    expect(normalizePersonName({ family: '  ', given: '\u3000', full: null })).toMatchObject({
      full: null,
      issues: ['EMPTY'],
    });
  });
});

describe('normalizeCompanyName', () => {
  it('keys company names without legal-form words and bracketed parts (full- or half-width)', () => {
    const key = normalizeCompanyName('华信科技有限公司').key;
    expect(key).toBe('华信科技');
    for (const variant of [
      '华信科技(中国)有限公司',
      '华信科技（中国）有限公司',
      '华信科技股份有限公司',
      '华信科技有限责任公司',
      '華信科技有限公司',
      ' 华信科技 有限公司 ',
      '华信科技',
    ]) {
      expect(normalizeCompanyName(variant).key).toBe(key);
    }
  });

  it('keeps the written name as full', () => {
    expect(normalizeCompanyName('  华信科技（中国）有限公司  ')).toEqual({
      full: '华信科技(中国)有限公司',
      key: '华信科技',
    });
  });

  it('keeps a branch distinct from its head office', () => {
    expect(normalizeCompanyName('中国平安人寿保险股份有限公司北京分公司').key).toBe('中国平安人寿保险北京分公司');
    expect(normalizeCompanyName('中国平安人寿保险股份有限公司').key).toBe('中国平安人寿保险');
  });

  it('drops Latin legal forms', () => {
    expect(normalizeCompanyName('Acme Trading Co., Ltd.').key).toBe('acmetrading');
    expect(normalizeCompanyName('ACME TRADING LIMITED').key).toBe('acmetrading');
  });

  it('is null for empty input and never empties a name that is only a legal form', () => {
    expect(normalizeCompanyName('  ')).toEqual({ full: null, key: null });
    expect(normalizeCompanyName('有限公司').key).toBe('有限公司');
  });
});
