import { describe, expect, it } from 'vitest';
import { protectEvidence, protectSourceKey, protectText } from '../../../src/auth/embedded-values.ts';

const none = () => false;
const all = () => true;

describe('personal values inside other values', () => {
  it('masks source keys built from an id document or a mobile like the value they carry', () => {
    expect(protectSourceKey('RESIDENT_ID:110105198503071230', none)).toBe('RESIDENT_ID:1101**********1230');
    expect(protectSourceKey('MOBILE:13800138000', none)).toBe('MOBILE:138****8000');
    expect(protectSourceKey('PASSPORT:E12345678', none)).not.toContain('12345678');
    expect(protectSourceKey('C0000001', none)).toBe('C0000001'); // the source's own client number
    expect(protectSourceKey('RESIDENT_ID:110105198503071230', all)).toBe('RESIDENT_ID:110105198503071230');
  });

  it('masks the phones, addresses and accounts alert evidence lists, and nothing else', () => {
    const evidence = JSON.stringify({ phones: [{ key: '13800138000', customers: 3 }], claims: ['CL1', 'CL2'] });
    const out = JSON.parse(protectEvidence(evidence, none));
    expect(out.phones[0]).toEqual({ key: '138****8000', customers: 3 });
    expect(out.claims).toEqual(['CL1', 'CL2']);
    const accounts = protectEvidence(
      JSON.stringify({ bankAccounts: [{ key: '6222021234567890123', customers: 2 }] }),
      none,
    );
    expect(accounts).not.toContain('6222021234567890123');
    expect(JSON.parse(protectEvidence(evidence, all)).phones[0].key).toBe('13800138000');
  });

  it('masks evidence given as a JSON object the same way, and returns an object', () => {
    const evidence = {
      phones: [{ key: '13800138000', customers: 3, sharers: [{ why: 'unrelated', source: 'MOBILE:13800138000' }] }],
      addresses: [{ key: '北京市朝阳区建国路88号', customers: 2 }],
      claims: ['CL1', 'CL2'],
      ratio: 5,
    };
    const out = protectEvidence(evidence, none);
    expect(out.phones).toEqual([
      { key: '138****8000', customers: 3, sharers: [{ why: 'unrelated', source: 'MOBILE:138****8000' }] },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/13800138000|建国路88号/);
    expect(out.claims).toEqual(['CL1', 'CL2']);
    expect(out.ratio).toBe(5);
    // The same as masking its JSON text.
    expect(out).toEqual(JSON.parse(protectEvidence(JSON.stringify(evidence), none)));
    expect(protectEvidence(evidence, all)).toEqual(evidence);
  });

  it('masks keys, e-mails and long digit runs in free text the hub wrote', () => {
    const text =
      '{"sourceRecord":"billing/RESIDENT_ID:110105198503071230","reason":"mobile \\"13812345678\\" invalid","mail":"wang@example.cn","count":12}';
    const out = protectText(text, none);
    expect(out).not.toMatch(/110105198503071230|13812345678|wang@example\.cn/);
    expect(out).toContain('"count":12');
    expect(protectText(text, all)).toBe(text);
  });
});
