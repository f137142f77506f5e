import { describe, expect, it } from 'vitest';
import { mapCorePolicy } from '../../src/connectors/core-policy/mapping.ts';
import {
  coreEvent,
  deleteWithTombstone,
  dteupd,
  residentId,
  type CoreEvent,
} from '../../src/connectors/core-policy/fixtures/events.ts';
import { MappingError } from '../../src/connectors/framework/errors.ts';
import type { SourceMessage } from '../../src/connectors/framework/connector.ts';

const msg = (e: CoreEvent, topic = e.topic): SourceMessage => ({
  topic,
  partition: 0,
  offset: '0',
  key: Buffer.from(e.key),
  value: e.value === null ? null : Buffer.from(e.value),
  timestamp: null,
});
const at = dteupd('2026-11-01T08:00:00Z');
const id = residentId('110105', '19850307', '123');
const client = {
  CLNTNUM: 'C0000001',
  CLTTYPE: 'P',
  SURNAME: '王',
  GIVNAME: '小明',
  CLTSEX: 'M',
  CLTDOB: 19850307,
  IDTYPE: '01',
  IDNO: id,
  MOBILE: '+86 138 0013 8000',
  PHONE: '021-62345678',
  EMAIL: 'WXM@Example.cn',
  ADDR1: '上海市徐汇区',
  ADDR2: '漕溪北路88号',
  ADDR3: null,
  POSTCODE: '200030',
  OCCPCODE: 'A01',
  DTEUPD: at,
};
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof MappingError) return e.code;
    throw e;
  }
  return 'NO_ERROR';
};

describe('core-policy mapping', () => {
  it('maps a CLIENT snapshot row to a normalised party upsert, trimming CHAR padding', () => {
    const [change] = mapCorePolicy(msg(coreEvent('client', 'r', client)));
    expect(change).toMatchObject({
      entity: 'party',
      op: 'upsert',
      system: 'core-policy',
      sourceId: 'C0000001',
      sourceVersion: String(at),
    });
    if (change?.entity !== 'party' || change.op !== 'upsert') throw new Error('unexpected change');
    expect(change.sourceTime?.toISOString()).toBe('2026-11-01T08:00:00.000Z');
    expect(change.attributes).toMatchObject({
      kind: 'PERSON',
      fullName: '王小明',
      familyName: '王',
      givenName: '小明',
      nameKey: '王小明',
      birthDate: '1985-03-07',
      sex: 'M',
      occupationCode: 'A01',
    });
    expect(change.attributes.identifiers).toEqual([
      { type: 'RESIDENT_ID', value: id, raw: id, valid: true, issues: [] },
    ]);
    // Search keys: national phone numbers, the e-mail, the address without spaces or postcode.
    expect(change.attributes.contactPoints.map((c) => [c.kind, c.searchKey ?? c.value])).toEqual([
      ['MOBILE', '13800138000'],
      ['LANDLINE', '02162345678'],
      ['EMAIL', 'wxm@example.cn'],
      ['ADDRESS', '上海市徐汇区漕溪北路88号'],
    ]);
  });

  it('keeps a placeholder address as written but invalid and without a key', () => {
    for (const placeholder of ['-', '#', '（）']) {
      const [change] = mapCorePolicy(msg(coreEvent('client', 'r', { ...client, ADDR1: placeholder, ADDR2: null })));
      if (change?.entity !== 'party' || change.op !== 'upsert') throw new Error('unexpected change');
      expect(change.attributes.contactPoints.find((c) => c.kind === 'ADDRESS')).toMatchObject({
        value: `${placeholder} 200030`,
        searchKey: null,
        valid: false,
        issues: ['PLACEHOLDER'],
      });
    }
  });

  it('accepts the bare envelope (schemas.enable=false) too', () => {
    const e = coreEvent('client', 'c', client);
    const bare = {
      ...e,
      key: JSON.stringify(JSON.parse(e.key).payload),
      value: JSON.stringify(JSON.parse(e.value as string).payload),
    };
    expect(mapCorePolicy(msg(bare))[0]).toMatchObject({ entity: 'party', op: 'upsert', sourceId: 'C0000001' });
  });

  it('maps a company client with its credit code', () => {
    const [change] = mapCorePolicy(
      msg(
        coreEvent('client', 'r', {
          CLNTNUM: 'C0000009',
          CLTTYPE: 'C',
          LGIVNAME: '華信科技有限公司',
          IDTYPE: '08',
          IDNO: '91350100M000100Y43',
          DTEUPD: at,
        }),
      ),
    );
    if (change?.entity !== 'party' || change.op !== 'upsert') throw new Error('unexpected change');
    expect(change.attributes).toMatchObject({
      kind: 'ORGANISATION',
      fullName: '華信科技有限公司',
      nameKey: '华信科技',
    });
    expect(change.attributes.identifiers[0]?.type).toBe('USCC');
  });

  it('maps policy headers, roles and covers with their codes and decimals', () => {
    expect(
      mapCorePolicy(
        msg(
          coreEvent('policy', 'r', {
            CHDRNUM: 'P0000001',
            CNTTYPE: 'WL1',
            STATCODE: 'RI',
            OCCDATE: 20240115,
            PTDATE: 99999999,
            SINSTAMT: '500000.00',
            INSTPREM: '12000.50',
            BILLFREQ: '12',
            SRCEBUS: 'BA',
            AGNTNUM: 'AG001',
            DTEUPD: at,
          }),
        ),
      )[0],
    ).toMatchObject({
      entity: 'policy',
      op: 'upsert',
      policyNo: 'P0000001',
      data: {
        productCode: 'WL1',
        status: 'RI',
        commencementDate: '2024-01-15',
        paidToDate: null,
        sumInsured: '500000.00',
        premium: '12000.50',
        billingFrequency: 'MONTHLY',
        channel: 'BANCASSURANCE',
        agentCode: 'AG001',
      },
    });
    const roles = [
      ['OW', 'POLICYHOLDER'],
      ['LF', 'INSURED'],
      ['BN', 'BENEFICIARY'],
      ['PY', 'PAYER'],
    ];
    for (const [code, role] of roles) {
      expect(
        mapCorePolicy(
          msg(
            coreEvent('role', 'r', {
              CHDRNUM: 'P0000001',
              CLNTNUM: 'C0000001',
              CLRRROLE: code as string,
              BNYSEQ: 2,
              BNYPC: '40.00',
              VALIDFLAG: '2',
              DTEUPD: at,
            }),
          ),
        )[0],
      ).toMatchObject({
        entity: 'policyRole',
        key: { policyNo: 'P0000001', clientSourceId: 'C0000001', role },
        data: { beneficiaryOrder: 2, sharePercent: '40.00', current: false },
      });
    }
    expect(
      mapCorePolicy(
        msg(
          coreEvent('cover', 'r', {
            CHDRNUM: 'P0000001',
            COVERAGE: '01',
            RIDER: '00',
            CRTABLE: 'WL1M',
            SUMINS: '500000.00',
            INSTPREM: '11000.00',
            STATCODE: 'IF',
            DTEUPD: at,
          }),
        ),
      )[0],
    ).toMatchObject({
      entity: 'policyCover',
      key: { policyNo: 'P0000001', coverage: '01', rider: '00' },
      data: { productCode: 'WL1M', status: 'IF' },
    });
  });

  it('turns a delete into a delete newer than the deleted row, and ignores its tombstone', () => {
    const [d, t] = deleteWithTombstone('client', client, Date.parse('2026-11-02T00:00:00Z'));
    const [change] = mapCorePolicy(msg(d as CoreEvent));
    expect(change).toMatchObject({ entity: 'party', op: 'delete', sourceId: 'C0000001' });
    expect(BigInt(change?.sourceVersion ?? 0) > BigInt(at)).toBe(true);
    expect(mapCorePolicy(msg(t as CoreEvent))).toEqual([]);
  });

  it('rejects bad input with a code from the shared set', () => {
    const ok = coreEvent('client', 'r', client);
    expect(codeOf(() => mapCorePolicy(msg({ ...ok, value: '{"payload": {' })))).toBe('UNPARSEABLE');
    expect(codeOf(() => mapCorePolicy({ ...msg(ok), key: null }))).toBe('MISSING_FIELD');
    expect(codeOf(() => mapCorePolicy(msg(coreEvent('client', 'r', { ...client, CLTTYPE: 'X' }))))).toBe(
      'UNKNOWN_CODE',
    );
    expect(
      codeOf(() => mapCorePolicy(msg(coreEvent('policy', 'r', { CHDRNUM: 'P1', STATCODE: 'ZZ', DTEUPD: at })))),
    ).toBe('UNKNOWN_CODE');
    expect(
      codeOf(() =>
        mapCorePolicy(msg(coreEvent('role', 'r', { CHDRNUM: 'P1', CLNTNUM: 'C1', CLRRROLE: 'XX', DTEUPD: at }))),
      ),
    ).toBe('UNKNOWN_CODE');
    expect(
      codeOf(() => mapCorePolicy(msg(coreEvent('policy', 'r', { CHDRNUM: 'P1', SINSTAMT: 'N/A', DTEUPD: at })))),
    ).toBe('INVALID_VALUE');
    expect(
      codeOf(() =>
        mapCorePolicy(
          msg(coreEvent('role', 'r', { CHDRNUM: 'P1', CLNTNUM: 'C1', CLRRROLE: 'BN', BNYPC: '140', DTEUPD: at })),
        ),
      ),
    ).toBe('INVALID_VALUE');
    expect(
      codeOf(() =>
        mapCorePolicy(msg({ ...ok, value: JSON.stringify({ payload: { op: 't', source: {} }, schema: {} }) })),
      ),
    ).toBe('UNSUPPORTED_OPERATION');
    expect(
      codeOf(() => mapCorePolicy(msg({ ...ok, value: JSON.stringify({ payload: { after: {} }, schema: {} }) }))),
    ).toBe('INVALID_ENVELOPE');
    expect(codeOf(() => mapCorePolicy(msg(ok, 'corepol.LIFEDB.NOPE')))).toBe('UNKNOWN_TOPIC');
    expect(codeOf(() => mapCorePolicy(msg(coreEvent('client', 'r', { ...client, DTEUPD: 'yesterday' }))))).toBe(
      'INVALID_VALUE',
    );
  });
});
