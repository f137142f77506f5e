import { describe, expect, it } from 'vitest';
import { DEMO_CUSTOMER, generateCorePolicyDemo, type DemoMessage } from '../../../src/demo/generate-core-policy.ts';
import { mapCorePolicy } from '../../../src/connectors/core-policy/mapping.ts';
import { nameKey, normalizeIdDocument, normalizePhone } from '../../../src/domain/normalize/index.ts';

type Row = Record<string, unknown>;
type Envelope = {
  schema: { type: string; fields: unknown[] };
  payload: { before: Row | null; after: Row | null; source: Record<string, unknown>; op: string; ts_ms: number };
};

const topics = {
  client: 'corepol.LIFEDB.CLIENT',
  policy: 'corepol.LIFEDB.CHDR',
  role: 'corepol.LIFEDB.CLRR',
  cover: 'corepol.LIFEDB.COVR',
} as const;

/** Columns per table, exactly as §1 of source-systems.md lists them. */
const columns: Record<string, string[]> = {
  [topics.client]: [
    'CLNTNUM',
    'CLTTYPE',
    'SURNAME',
    'GIVNAME',
    'LGIVNAME',
    'CLTSEX',
    'CLTDOB',
    'IDTYPE',
    'IDNO',
    'MOBILE',
    'PHONE',
    'EMAIL',
    'ADDR1',
    'ADDR2',
    'ADDR3',
    'POSTCODE',
    'OCCPCODE',
    'DTEUPD',
  ],
  [topics.policy]: [
    'CHDRNUM',
    'CNTTYPE',
    'STATCODE',
    'OCCDATE',
    'PTDATE',
    'SINSTAMT',
    'INSTPREM',
    'BILLFREQ',
    'SRCEBUS',
    'AGNTNUM',
    'DTEUPD',
  ],
  [topics.role]: ['CHDRNUM', 'CLNTNUM', 'CLRRROLE', 'BNYSEQ', 'BNYPC', 'VALIDFLAG', 'DTEUPD'],
  [topics.cover]: ['CHDRNUM', 'COVERAGE', 'RIDER', 'CRTABLE', 'SUMINS', 'INSTPREM', 'STATCODE', 'DTEUPD'],
};
const keyColumns: Record<string, string[]> = {
  [topics.client]: ['CLNTNUM'],
  [topics.policy]: ['CHDRNUM'],
  [topics.role]: ['CHDRNUM', 'CLNTNUM', 'CLRRROLE'],
  [topics.cover]: ['CHDRNUM', 'COVERAGE', 'RIDER'],
};

const messages = generateCorePolicyDemo({});
const envelope = (m: DemoMessage) => JSON.parse(m.value as string) as Envelope;
const key = (m: DemoMessage) => JSON.parse(m.key) as { schema: unknown; payload: Row };
const t = (v: unknown) => (typeof v === 'string' ? v.trim() : v);
const rowsOf = (topic: string, ops = ['r']) =>
  messages
    .filter((m) => m.topic === topic && m.value !== null && ops.includes(envelope(m).payload.op))
    .map((m) => envelope(m).payload.after as Row);
const snapshotClients = rowsOf(topics.client);
const snapshotPolicies = rowsOf(topics.policy);
const snapshotRoles = rowsOf(topics.role);
const snapshotCovers = rowsOf(topics.cover);

describe('generateCorePolicyDemo: determinism and sizes', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    expect(generateCorePolicyDemo({ seed: 7, clients: 40, policies: 50 })).toEqual(
      generateCorePolicyDemo({ seed: 7, clients: 40, policies: 50 }),
    );
    expect(generateCorePolicyDemo({})).toEqual(messages);
    expect(generateCorePolicyDemo({ seed: 8, clients: 40, policies: 50 })).not.toEqual(
      generateCorePolicyDemo({ seed: 7, clients: 40, policies: 50 }),
    );
  });

  it('defaults to 300 clients and 400 policies (plus the demo customer, duplicates and the demo policies)', () => {
    const originals = snapshotClients.filter((r) => /^C1\d{6}$/.test(String(t(r.CLNTNUM))));
    expect(originals).toHaveLength(300);
    expect(snapshotPolicies.filter((r) => /^P1\d{6}$/.test(String(t(r.CHDRNUM))))).toHaveLength(400);
    const small = generateCorePolicyDemo({ clients: 20, policies: 10 });
    expect(
      small.filter((m) => m.topic === topics.policy && m.value !== null && envelope(m).payload.op === 'r'),
    ).toHaveLength(14);
  });
});

describe('generateCorePolicyDemo: the Debezium contract', () => {
  it('publishes exactly the four LIFEDB topics', () => {
    expect(new Set(messages.map((m) => m.topic))).toEqual(new Set(Object.values(topics)));
  });

  it('wraps keys and values as Debezium does with schemas.enable=true', () => {
    for (const m of messages) {
      const k = key(m);
      expect(Object.keys(k).sort()).toEqual(['payload', 'schema']);
      expect(Object.keys(k.payload)).toEqual(keyColumns[m.topic]);
      if (m.value === null) continue;
      const v = JSON.parse(m.value) as Envelope;
      expect(Object.keys(v).sort()).toEqual(['payload', 'schema']);
      expect(v.schema.type).toBe('struct');
      expect(Object.keys(v.payload).sort()).toEqual(['after', 'before', 'op', 'source', 'ts_ms']);
      expect(v.payload.source).toMatchObject({
        connector: 'oracle',
        name: 'corepol',
        db: 'LIFEDB',
        schema: 'LIFEDB',
        table: m.topic.split('.')[2],
      });
      expect(typeof v.payload.source.version).toBe('string');
      expect(typeof v.payload.source.ts_ms).toBe('number');
      expect(v.payload.source.snapshot).toBe(v.payload.op === 'r' ? 'true' : 'false');
      expect(typeof v.payload.ts_ms).toBe('number');
      const row = v.payload.op === 'd' ? v.payload.before : v.payload.after;
      expect(Object.keys(row as Row).sort()).toEqual([...(columns[m.topic] ?? [])].sort());
      // The key is the row's primary key.
      for (const c of keyColumns[m.topic] ?? []) expect(k.payload[c]).toBe((row as Row)[c]);
    }
  });

  it('uses before/after as each op requires: r and c without before, u with both, d with before only and then a tombstone', () => {
    const ops = new Set<string>();
    messages.forEach((m, i) => {
      if (m.value === null) {
        const previous = messages[i - 1] as DemoMessage;
        expect(previous.key).toBe(m.key);
        expect(envelope(previous).payload.op).toBe('d');
        return;
      }
      const { op, before, after } = envelope(m).payload;
      ops.add(op);
      if (op === 'r' || op === 'c') expect([before, after !== null]).toEqual([null, true]);
      if (op === 'u') expect([before !== null, after !== null]).toEqual([true, true]);
      if (op === 'd') {
        expect([before !== null, after]).toEqual([true, null]);
        expect(messages[i + 1]).toEqual({ topic: m.topic, key: m.key, value: null });
      }
    });
    expect(ops).toEqual(new Set(['r', 'c', 'u', 'd']));
  });

  it('sends the snapshot first, then the changes, with one role arriving before its policy and its client', () => {
    const firstChange = messages.findIndex((m) => m.value === null || envelope(m).payload.op !== 'r');
    expect(firstChange).toBeGreaterThan(0);
    expect(messages.slice(firstChange).every((m) => m.value === null || envelope(m).payload.op !== 'r')).toBe(true);
    const first = messages[0] as DemoMessage;
    expect(first.topic).toBe(topics.role);
    const early = envelope(first).payload.after as Row;
    const policyAt = messages.findIndex((m) => m.topic === topics.policy && key(m).payload.CHDRNUM === early.CHDRNUM);
    const clientAt = messages.findIndex((m) => m.topic === topics.client && key(m).payload.CLNTNUM === early.CLNTNUM);
    expect(policyAt).toBeGreaterThan(0);
    expect(clientAt).toBeGreaterThan(0);
    // New business after the snapshot: roles first, then the policy, then the client.
    const created = messages.filter((m) => m.value !== null && envelope(m).payload.op === 'c');
    const newRole = created.findIndex(
      (m) =>
        m.topic === topics.role &&
        created.some((p) => p.topic === topics.policy && key(p).payload.CHDRNUM === key(m).payload.CHDRNUM),
    );
    const newPolicy = created.findIndex((m) => m.topic === topics.policy);
    expect(newRole).toBeGreaterThanOrEqual(0);
    expect(newRole).toBeLessThan(newPolicy);
  });

  it('pads CHAR columns with trailing spaces', () => {
    for (const r of snapshotClients) {
      expect(String(r.CLNTNUM)).toHaveLength(8);
      if (r.CLTTYPE === 'P') expect(String(r.SURNAME)).toMatch(/\S {2,}$/);
    }
    for (const r of snapshotPolicies) {
      expect(String(r.CHDRNUM)).toHaveLength(8);
      expect(String(r.AGNTNUM)).toHaveLength(8);
    }
  });

  it('sends dates as YYYYMMDD integers, some unknown as 0 or 99999999, DTEUPD in microseconds', () => {
    const dobs = snapshotClients.map((r) => r.CLTDOB);
    expect(
      dobs.every(
        (d) =>
          typeof d === 'number' &&
          (d === 0 || d === 99999999 || /^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(String(d))),
      ),
    ).toBe(true);
    expect(dobs.filter((d) => d === 0 || d === 99999999).length).toBeGreaterThan(0);
    for (const r of snapshotPolicies) expect(typeof r.OCCDATE).toBe('number');
    for (const m of messages) {
      if (m.value === null) continue;
      const { before, after } = envelope(m).payload;
      const dteupd = (after ?? before)?.DTEUPD;
      expect(Number.isSafeInteger(dteupd)).toBe(true);
      expect(dteupd as number).toBeGreaterThan(1.7e15); // microseconds (2023 onwards), not milliseconds
    }
  });

  it('sends amounts as string decimals and only contract codes', () => {
    for (const r of snapshotPolicies) {
      expect(r.SINSTAMT).toMatch(/^\d+\.\d{2}$/);
      expect(r.INSTPREM).toMatch(/^\d+\.\d{2}$/);
      expect(['IF', 'LA', 'RI', 'SU', 'MA', 'CL', 'CF']).toContain(r.STATCODE);
      expect(['01', '12']).toContain(r.BILLFREQ);
      expect(['AG', 'BA', 'TM', 'WB']).toContain(r.SRCEBUS);
    }
    for (const r of snapshotCovers) expect(r.SUMINS).toMatch(/^\d+\.\d{2}$/);
    for (const r of snapshotClients) {
      expect(['P', 'C']).toContain(r.CLTTYPE);
      expect([null, 'M', 'F', 'U']).toContain(r.CLTSEX);
      expect(['01', '02', '03', '08']).toContain(r.IDTYPE);
    }
  });

  it('is accepted by the core-policy connector mapping, message by message', () => {
    messages.forEach((m, i) => {
      const message = {
        topic: m.topic,
        partition: 0,
        offset: String(i),
        key: Buffer.from(m.key),
        value: m.value === null ? null : Buffer.from(m.value),
        timestamp: null,
      };
      expect(() => mapCorePolicy(message)).not.toThrow();
    });
  });
});

describe('generateCorePolicyDemo: policies and roles', () => {
  it('gives every policy one main cover (RIDER 00) and at most two riders', () => {
    for (const p of snapshotPolicies) {
      const covers = snapshotCovers.filter((c) => c.CHDRNUM === p.CHDRNUM);
      expect(covers.filter((c) => c.RIDER === '00')).toHaveLength(1);
      expect(covers.length).toBeLessThanOrEqual(3);
      expect(covers.every((c) => c.STATCODE === p.STATCODE)).toBe(true);
    }
  });

  it('gives every policy a current policyholder and insured; beneficiary shares sum to 100 per order', () => {
    const current = snapshotRoles.filter((r) => r.VALIDFLAG === '1');
    expect(new Set(snapshotRoles.map((r) => r.CLRRROLE))).toEqual(new Set(['OW', 'LF', 'BN', 'PY']));
    expect(new Set(snapshotRoles.map((r) => r.VALIDFLAG))).toEqual(new Set(['1', '2']));
    const shares = new Map<string, number>();
    for (const r of current) {
      if (r.CLRRROLE !== 'BN') {
        expect([r.BNYSEQ, r.BNYPC]).toEqual([null, null]);
        continue;
      }
      expect(Number.isInteger(r.BNYSEQ)).toBe(true);
      const k = `${String(r.CHDRNUM)}/${String(r.BNYSEQ)}`;
      shares.set(k, (shares.get(k) ?? 0) + Number(r.BNYPC));
    }
    expect(shares.size).toBeGreaterThan(50);
    for (const total of shares.values()) expect(total).toBeCloseTo(100, 6);
    for (const p of snapshotPolicies) {
      expect(current.filter((r) => r.CHDRNUM === p.CHDRNUM && r.CLRRROLE === 'OW')).toHaveLength(1);
      expect(current.filter((r) => r.CHDRNUM === p.CHDRNUM && r.CLRRROLE === 'LF')).toHaveLength(1);
    }
  });

  it('changes beneficiaries after the snapshot: the old role becomes history (VALIDFLAG 2)', () => {
    const historised = messages.filter(
      (m) => m.topic === topics.role && m.value !== null && envelope(m).payload.op === 'u',
    );
    expect(historised.length).toBeGreaterThan(0);
    for (const m of historised) {
      const { before, after } = envelope(m).payload;
      expect([before?.VALIDFLAG, after?.VALIDFLAG]).toEqual(['1', '2']);
    }
  });

  it('lapses and reinstates policies, header and covers together', () => {
    const updates = messages
      .filter((m) => m.topic === topics.policy && m.value !== null && envelope(m).payload.op === 'u')
      .map((m) => envelope(m).payload);
    expect(updates.some((u) => u.before?.STATCODE === 'IF' && u.after?.STATCODE === 'LA')).toBe(true);
    expect(updates.some((u) => u.before?.STATCODE === 'LA' && u.after?.STATCODE === 'RI')).toBe(true);
    expect(messages.some((m) => m.topic === topics.cover && m.value !== null && envelope(m).payload.op === 'u')).toBe(
      true,
    );
  });

  it('deletes one policy (with its covers and roles), each delete followed by a tombstone', () => {
    const deleted = messages.filter(
      (m) => m.topic === topics.policy && m.value !== null && envelope(m).payload.op === 'd',
    );
    expect(deleted).toHaveLength(1);
    const policyNo = key(deleted[0] as DemoMessage).payload.CHDRNUM;
    const tombstones = messages.filter((m) => m.value === null && key(m).payload.CHDRNUM === policyNo);
    expect(new Set(tombstones.map((m) => m.topic))).toEqual(new Set([topics.policy, topics.cover, topics.role]));
    expect(envelope(deleted[0] as DemoMessage).payload.before).toMatchObject({
      CNTTYPE: expect.any(String),
      SINSTAMT: expect.any(String),
    }); // the full row
  });

  it('re-keys one client: delete + tombstone of the old number, the same person created under a new one, roles moved', () => {
    const deleted = messages.filter(
      (m) => m.topic === topics.client && m.value !== null && envelope(m).payload.op === 'd',
    );
    expect(deleted).toHaveLength(1);
    const old = envelope(deleted[0] as DemoMessage).payload.before as Row;
    const i = messages.indexOf(deleted[0] as DemoMessage);
    expect(messages[i + 1]?.value).toBeNull();
    const created = rowsOf(topics.client, ['c']).find((r) => r.IDNO === old.IDNO);
    expect(created).toBeDefined();
    expect(created?.CLNTNUM).not.toBe(old.CLNTNUM);
    expect(normalizeIdDocument(String(old.IDTYPE), String(old.IDNO)).valid).toBe(true);
    const movedRoles = rowsOf(topics.role, ['c']).filter((r) => r.CLNTNUM === created?.CLNTNUM);
    const removedRoles = messages.filter(
      (m) =>
        m.topic === topics.role &&
        m.value !== null &&
        envelope(m).payload.op === 'd' &&
        envelope(m).payload.before?.CLNTNUM === old.CLNTNUM,
    );
    expect(movedRoles.length).toBe(removedRoles.length);
    expect(movedRoles.length).toBeGreaterThan(0);
  });
});

describe('generateCorePolicyDemo: the demo customer', () => {
  const demoRows = snapshotClients.filter((r) => t(r.CLNTNUM) === DEMO_CUSTOMER.clientNo);
  const demoRoles = snapshotRoles.filter((r) => t(r.CLNTNUM) === DEMO_CUSTOMER.clientNo && r.VALIDFLAG === '1');
  const rolesOf = (role: string) =>
    demoRoles
      .filter((r) => r.CLRRROLE === role)
      .map((r) => t(r.CHDRNUM))
      .sort();

  it('is 王小明 with mobile 13800138000 and a valid resident id consistent with birth date and sex', () => {
    expect(DEMO_CUSTOMER).toMatchObject({ name: '王小明', mobile: '13800138000', clientNo: 'C9000001' });
    expect(demoRows).toHaveLength(1);
    const row = demoRows[0] as Row;
    expect(`${String(t(row.SURNAME))}${String(t(row.GIVNAME))}`).toBe(DEMO_CUSTOMER.name);
    expect(row.MOBILE).toBe(DEMO_CUSTOMER.mobile);
    expect(t(row.IDNO)).toBe(DEMO_CUSTOMER.idNumber);
    const id = normalizeIdDocument('01', DEMO_CUSTOMER.idNumber, {
      birthDate: String(row.CLTDOB),
      sex: row.CLTSEX as 'M',
    });
    expect(id).toMatchObject({ valid: true, issues: [], birthDate: DEMO_CUSTOMER.birthDate, sex: 'M' });
  });

  it('holds at least three policies in several roles, and is beneficiary on another client’s policy', () => {
    expect(rolesOf('OW')).toEqual([...DEMO_CUSTOMER.policyholderOf]);
    expect(rolesOf('OW').length).toBeGreaterThanOrEqual(3);
    expect(rolesOf('LF')).toEqual([...DEMO_CUSTOMER.insuredOn]);
    expect(rolesOf('PY')).toEqual([...DEMO_CUSTOMER.payerOn]);
    expect(rolesOf('BN')).toEqual([...DEMO_CUSTOMER.beneficiaryOn]);
    const others = DEMO_CUSTOMER.beneficiaryOn.filter(
      (p) => !(DEMO_CUSTOMER.policyholderOf as readonly string[]).includes(p),
    );
    expect(others.length).toBeGreaterThan(0);
    for (const p of others) {
      const owner = snapshotRoles.find((r) => t(r.CHDRNUM) === p && r.CLRRROLE === 'OW');
      expect(t(owner?.CLNTNUM)).not.toBe(DEMO_CUSTOMER.clientNo);
    }
    for (const p of [...DEMO_CUSTOMER.policyholderOf, ...DEMO_CUSTOMER.beneficiaryOn]) {
      expect(snapshotPolicies.some((r) => t(r.CHDRNUM) === p)).toBe(true);
      expect(snapshotCovers.some((r) => t(r.CHDRNUM) === p && r.RIDER === '00')).toBe(true);
    }
  });

  it('is the only client with that mobile, in any format, and is never changed or deleted', () => {
    const withMobile = messages
      .filter((m) => m.topic === topics.client && m.value !== null)
      .map((m) => envelope(m).payload.after)
      .filter(
        (r): r is Row =>
          r !== null && typeof r.MOBILE === 'string' && normalizePhone(r.MOBILE).searchKey === DEMO_CUSTOMER.mobile,
      );
    expect(new Set(withMobile.map((r) => t(r.CLNTNUM)))).toEqual(new Set([DEMO_CUSTOMER.clientNo]));
    const touched = messages.filter(
      (m) =>
        (m.value === null || envelope(m).payload.op !== 'r') &&
        key(m).payload.CLNTNUM !== undefined &&
        t(key(m).payload.CLNTNUM) === DEMO_CUSTOMER.clientNo,
    );
    expect(touched).toEqual([]);
  });
});

describe('generateCorePolicyDemo: realistic people', () => {
  const persons = snapshotClients.filter((r) => r.CLTTYPE === 'P');

  it('has about one person in ten twice, under two client numbers with the same resident id', () => {
    const byId = new Map<string, Row[]>();
    for (const r of persons) {
      const id = normalizeIdDocument(String(r.IDTYPE), String(r.IDNO));
      if (id.valid && id.value && id.type === 'RESIDENT_ID') byId.set(id.value, [...(byId.get(id.value) ?? []), r]);
    }
    const groups = [...byId.values()].filter((g) => g.length > 1);
    expect(groups.length / persons.length).toBeGreaterThan(0.06);
    expect(groups.length / persons.length).toBeLessThan(0.15);
    let traditional = 0;
    let pinyin = 0;
    let otherPhoneFormat = 0;
    for (const [a, b] of groups as [Row, Row][]) {
      expect(t(a.CLNTNUM)).not.toBe(t(b.CLNTNUM));
      const [ka, kb] = [a, b].map((r) => nameKey(`${String(r.SURNAME)}${String(r.GIVNAME)}`));
      const written = [a, b].map((r) => `${String(t(r.SURNAME))}${String(t(r.GIVNAME))}`);
      if (ka === kb && written[0] !== written[1]) traditional += 1;
      if (/^[A-Z]/.test(String(b.SURNAME))) pinyin += 1;
      if (typeof a.MOBILE === 'string' && typeof b.MOBILE === 'string' && a.MOBILE !== b.MOBILE) {
        expect(normalizePhone(a.MOBILE).searchKey).toBe(normalizePhone(b.MOBILE).searchKey);
        otherPhoneFormat += 1;
      }
    }
    expect(traditional).toBeGreaterThan(0);
    expect(pinyin).toBeGreaterThan(0);
    expect(otherPhoneFormat).toBeGreaterThan(0);
  });

  it('has mostly valid resident ids, consistent with birth date and sex, and the usual warts', () => {
    const issues = new Map<string, number>();
    let valid = 0;
    for (const r of persons) {
      const dob = r.CLTDOB === 0 || r.CLTDOB === 99999999 ? null : String(r.CLTDOB);
      const id = normalizeIdDocument(String(r.IDTYPE), String(r.IDNO), {
        birthDate: dob,
        sex: r.CLTSEX as 'M' | 'F' | 'U',
      });
      if (id.valid && id.issues.every((i) => i === 'CONVERTED_FROM_15')) valid += 1;
      for (const i of id.issues) issues.set(i, (issues.get(i) ?? 0) + 1);
    }
    expect(valid / persons.length).toBeGreaterThan(0.8);
    expect(issues.get('BAD_CHECKSUM')).toBeGreaterThan(0);
    expect(issues.get('BAD_LENGTH')).toBeGreaterThan(0);
    expect(issues.get('CONVERTED_FROM_15')).toBeGreaterThan(0);
    expect(issues.get('BIRTH_DATE_MISMATCH') ?? 0).toBeLessThan(persons.length * 0.05);
    expect(persons.some((r) => r.IDTYPE === '03')).toBe(true);
    expect(persons.some((r) => r.IDTYPE === '02')).toBe(true);
  });

  it('has a few companies with credit codes', () => {
    const companies = snapshotClients.filter((r) => r.CLTTYPE === 'C');
    expect(companies.length).toBeGreaterThan(3);
    for (const c of companies) {
      expect(c.IDTYPE).toBe('08');
      expect(c.LGIVNAME).toMatch(/公司\s*$/);
      expect(normalizeIdDocument('08', String(c.IDNO)).valid).toBe(true);
    }
  });

  it('writes names in Chinese with common surnames first, some compound surnames, pinyin and traditional characters', () => {
    const surnames = persons.map((r) => String(t(r.SURNAME)));
    const count = (s: string) => surnames.filter((x) => x === s).length;
    expect(count('王') + count('李') + count('张')).toBeGreaterThan(count('曹') + count('邓') + count('冯'));
    expect(surnames.some((s) => ['欧阳', '司马', '上官', '诸葛', '东方'].includes(s))).toBe(true);
    expect(surnames.some((s) => /^[A-Z]+$/.test(s))).toBe(true);
    expect(surnames.some((s) => nameKey(s) !== s && /\p{Script=Han}/u.test(s))).toBe(true);
  });

  it('writes mobiles in mixed formats, all readable, plus landlines, emails and addresses in real cities', () => {
    const mobiles = persons.map((r) => r.MOBILE).filter((m): m is string => typeof m === 'string');
    const shapes = new Set(mobiles.map((m) => m.replace(/\d/g, '9').replace(/[０-９]/g, '９')));
    expect(shapes.size).toBeGreaterThanOrEqual(5);
    const read = mobiles.map((m) => normalizePhone(m));
    expect(read.filter((p) => p.valid && p.kind === 'MOBILE').length / read.length).toBeGreaterThan(0.9);
    const landlines = snapshotClients.map((r) => r.PHONE).filter((p): p is string => typeof p === 'string');
    expect(landlines.length).toBeGreaterThan(10);
    expect(landlines.every((p) => normalizePhone(p).valid)).toBe(true);
    expect(persons.filter((r) => typeof r.EMAIL === 'string').length).toBeGreaterThan(30);
    const cities = new Set(persons.map((r) => String(r.ADDR1).slice(0, 6)));
    expect(cities.size).toBeGreaterThan(8);
    expect(persons.every((r) => r.ADDR1 === null || /(省|市|区)/.test(String(r.ADDR1)))).toBe(true);
  });
});
