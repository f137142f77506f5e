import { coreEvent, type Row } from '../connectors/core-policy/fixtures/events.ts';
import { bancassuranceColumns } from '../connectors/bancassurance/index.ts';
import { otherMobileFormat, pad, pinyinOf, toTraditional } from './core-policy-values.ts';
import { clientRow, policyRows } from './population-rows.ts';
import { type Member, nextUnit, type Unit } from './population-units.ts';
import { type Random, seeded } from './random.ts';

/**
 * An insurer's whole population as its source systems publish it, streamed in chunks so that a million customers
 * never sit in memory at once (`npm run bench:scale`): the core-policy snapshot (Debezium op `r`: clients, policies,
 * covers, roles with relation codes) and the same people again in the other systems — billing payers keyed by id
 * document, claimants, agents' leads (names in traditional characters, loose birth dates, an agent's own mobile
 * typed in), bank sales rows, app users (registration, some real-name verified), contact-centre calls — and about
 * one adult in twelve under a second core client number. Per person about 2.6 source records (and 0.65 policies,
 * 1.8 roles) resolve to one golden customer. Households share an address and often a landline; see
 * population-units.ts. Each chunk's messages are grouped by topic, snapshot tables first. Seeded: the same options
 * give the same messages (a chunk size other than the default groups them differently, not other messages).
 */
/** A message as the batch path takes it (a bank file's row has no key). */
export type PopulationMessage = { topic: string; key: string | null; value: string | null };
export type PopulationOptions = { customers: number; seed?: number; chunkPeople?: number };
export type PopulationChunk = {
  messages: PopulationMessage[];
  /**
   * Ground truth beside the messages (same order, same length): the id of the person or organisation each message
   * is about (`P123` / `C124`, from the generator's sequence number), or null for messages about no one (policies,
   * covers, roles). A side output only — the messages and the random draws are the same with or without reading it;
   * bench/scale-quality.ts scores the identity resolution against it.
   */
  truth: (string | null)[];
  /** Ground truth of homes, a side output too: the members (`P123`) of each household of this chunk. */
  households: string[][];
  /** People and organisations generated so far (the expected golden customers). */
  people: number;
};

/** Snapshot tables first (clients, policies, covers, roles), then the other systems. */
export const populationTopics = [
  'corepol.LIFEDB.CLIENT',
  'corepol.LIFEDB.CHDR',
  'corepol.LIFEDB.COVR',
  'corepol.LIFEDB.CLRR',
  'billing.payments.v1',
  'claims.public.claim',
  'agency.leads.v1',
  'bancassurance.sales.file',
  'app.customer-events.v1',
  'contact.interactions.v1',
] as const;

const base = Date.parse('2026-10-01T09:00:00+08:00');
const iso = (ms: number) => new Date(ms).toISOString();
const day = 86_400_000;
const fullName = (m: Member) => (m.kind === 'C' ? (m.orgName ?? '') : `${m.surname}${m.given}`);

/** The true identity of a generated person or organisation (sequence numbers are unique across both). */
export const entityId = (m: Member): string => `${m.kind}${m.seq}`;

type Counters = { policy: number; payment: number; claim: number; lead: number; call: number; event: number };

export function* populationChunks(opts: PopulationOptions): Generator<PopulationChunk> {
  const r = seeded(opts.seed ?? 20261216);
  const state = { people: 0 };
  const n: Counters = { policy: 0, payment: 0, claim: 0, lead: 0, call: 0, event: 0 };
  const chunkPeople = opts.chunkPeople ?? 5_000;
  while (state.people < opts.customers) {
    const byTopic = new Map<string, [PopulationMessage, string | null][]>(populationTopics.map((t) => [t, []]));
    const emit = (m: PopulationMessage, about: Member | null) =>
      byTopic.get(m.topic)?.push([m, about === null ? null : entityId(about)]);
    const start = state.people;
    const households: string[][] = [];
    while (state.people - start < chunkPeople && state.people < opts.customers) {
      const unit = nextUnit(r, state);
      if (unit.kind === 'household') households.push(unit.members.map(entityId));
      emitUnit(r, unit, emit, n);
    }
    const pairs = populationTopics.flatMap((t) => byTopic.get(t) ?? []);
    yield { messages: pairs.map(([m]) => m), truth: pairs.map(([, t]) => t), households, people: state.people };
  }
}

export function* populationMessages(opts: PopulationOptions): Generator<PopulationMessage> {
  for (const chunk of populationChunks(opts)) yield* chunk.messages;
}

function emitUnit(
  r: Random,
  unit: Unit,
  emit: (m: PopulationMessage, about: Member | null) => void,
  n: Counters,
): void {
  const members = unit.members;
  const stamp = (m: Member) => (base + m.seq * 1000) * 1000;
  if (unit.kind !== 'prospect')
    for (const m of members) {
      emit(coreEvent('client', 'r', clientRow(r, m, stamp(m))), m);
      // The same person under a second client number: the name written another way, the mobile in another format.
      if (m.kind === 'P' && m.adult && m.residentId && r.chance(0.08)) {
        const variant = r.next();
        const [s, g] =
          variant < 0.4
            ? [toTraditional(m.surname), toTraditional(m.given)]
            : variant < 0.7
              ? [pinyinOf(m.surname, true).toUpperCase(), pinyinOf(m.given).toUpperCase()]
              : [m.surname, m.given.length > 1 ? `${m.given.slice(0, 1)}\u3000${m.given.slice(1)}` : m.given];
        const row = clientRow(r, m, stamp(m) + 1);
        emit(
          coreEvent('client', 'r', {
            ...row,
            CLNTNUM: `D${pad(m.seq, 7)}`,
            SURNAME: s,
            GIVNAME: g,
            IDNO: r.chance(0.2) ? String(m.idNo).toLowerCase() : m.idNo,
            MOBILE: m.mobile === null ? null : otherMobileFormat(r, m.mobile, m.mobileAsWritten),
            EMAIL: null,
          }),
          m,
        );
      }
    }

  // Policies: adults insure themselves, a parent insures a child or the spouse, a company its staff.
  const adults = members.filter((m) => m.kind === 'P' && m.adult);
  const children = members.filter((m) => m.kind === 'P' && !m.adult);
  const spouseOf = (m: Member) =>
    unit.kind === 'household' ? adults.find((a) => a !== m && members.indexOf(a) < 2) : undefined;
  const sold: { no: string; owner: Member; insured: Member; row: Row }[] = [];
  const policy = (owner: Member, insured: Member, parties: [Member, string, string][]) => {
    n.policy += 1;
    const no = `P${pad(n.policy, 7)}`;
    const { row, covers } = policyRows(r, no, stamp(owner));
    emit(coreEvent('policy', 'r', row), null);
    for (const c of covers) emit(coreEvent('cover', 'r', c), null);
    const bens = parties.filter(([, role]) => role === 'BN').length;
    const shares = bens === 2 ? ['60.00', '40.00'] : bens === 3 ? ['40.00', '30.00', '30.00'] : ['100.00'];
    let b = 0;
    for (const [m, role, rel] of parties)
      emit(
        coreEvent('role', 'r', {
          CHDRNUM: no,
          CLNTNUM: m.clientNo,
          CLRRROLE: role,
          BNYSEQ: role === 'BN' ? 1 : null,
          BNYPC: role === 'BN' ? (shares[b++] ?? '0.00') : null,
          VALIDFLAG: '1',
          CLTRELN: rel,
          DTEUPD: row.DTEUPD ?? null,
        }),
        null,
      );
    if (r.chance(0.25))
      emit(
        coreEvent('role', 'r', {
          CHDRNUM: no,
          CLNTNUM: owner.clientNo,
          CLRRROLE: 'PY',
          BNYSEQ: null,
          BNYPC: null,
          VALIDFLAG: '1',
          CLTRELN: null,
          DTEUPD: row.DTEUPD ?? null,
        }),
        null,
      );
    sold.push({ no, owner, insured, row });
  };
  if (unit.kind === 'company') {
    const [company, ...staff] = members as [Member, ...Member[]];
    policy(company, staff[0] as Member, [
      [company, 'OW', 'OT'],
      ...staff.map((s): [Member, string, string] => [s, 'LF', 'OT']),
    ]);
  } else if (unit.kind === 'household') {
    for (const m of adults) {
      if (!r.chance(0.7)) continue;
      const spouse = spouseOf(m);
      const bens: [Member, string, string][] = [];
      if (spouse && r.chance(0.6)) bens.push([spouse, 'BN', 'SP']);
      if (children.length > 0 && r.chance(0.3)) bens.push([r.pick(children), 'BN', 'CH']);
      policy(m, m, [[m, 'OW', 'SF'], [m, 'LF', 'SF'], ...bens]);
    }
    const head = adults[0];
    if (head && children.length > 0 && r.chance(0.5)) {
      const child = r.pick(children);
      policy(head, child, [
        [head, 'OW', 'PA'],
        [child, 'LF', 'SF'],
        [head, 'BN', 'PA'],
      ]);
    }
    const spouse = head ? spouseOf(head) : undefined;
    if (head && spouse && r.chance(0.15))
      policy(head, spouse, [
        [head, 'OW', 'SP'],
        [spouse, 'LF', 'SF'],
      ]);
  }

  // Billing: premiums with the payer's identity as billed; claims on some policies; bank sales for bank business.
  for (const p of sold) {
    const { owner, insured, no, row } = p;
    if (owner.kind === 'P' && (owner.idNo !== null || owner.mobile !== null) && row.STATCODE !== 'CF') {
      const payments = r.chance(0.3) ? 2 : 1;
      for (let i = 0; i < payments; i += 1) {
        n.payment += 1;
        const id = `PAY-${pad(n.payment, 9)}`;
        emit(
          {
            topic: 'billing.payments.v1',
            key: id,
            value: JSON.stringify({
              eventId: `EV-${id}`,
              eventType: 'PREMIUM_PAID',
              occurredAt: iso(base - r.int(1, 330) * day),
              paymentId: id,
              policyNo: no,
              payer: {
                name: fullName(owner),
                idType: owner.idType ?? '01',
                idNumber: owner.idNo,
                mobile:
                  owner.mobile === null || r.chance(0.2)
                    ? null
                    : r.chance(0.7)
                      ? owner.mobile
                      : otherMobileFormat(r, owner.mobile, owner.mobile),
              },
              amount: String(row.INSTPREM),
              currency: 'CNY',
              method: 'BANK_DEBIT',
              bankAccount: { bankCode: 'ICBC', accountNo: `622202${pad(owner.seq, 13)}` },
              status: 'SUCCESS',
              failureReason: null,
            }),
          },
          owner,
        );
      }
    }
    if (insured.kind === 'P' && insured.idNo !== null && r.chance(0.08)) {
      n.claim += 1;
      const reported = base - r.int(10, 300) * day;
      const claimId = `7f1c2d6e-0000-4000-8000-${pad(n.claim, 12)}`;
      emit(
        {
          topic: 'claims.public.claim',
          key: JSON.stringify({ claim_id: claimId }),
          value: JSON.stringify({
            before: null,
            after: {
              claim_id: claimId,
              claim_no: `CLM${2026000000 + n.claim}`,
              policy_no: no,
              claimant_name: fullName(insured),
              claimant_id_type: insured.idType ?? '01',
              claimant_id_no: insured.idNo,
              claimant_phone: insured.mobile,
              incident_date: Math.floor(reported / day) - r.int(1, 30),
              reported_at: reported * 1000,
              cause_code: r.pick(['HOS', 'ACC', 'CI', 'ILL']),
              claimed_amount: `${r.int(1000, 50000)}.00`,
              paid_amount: `${r.int(0, 40000)}.00`,
              status: r.pick(['REPORTED', 'APPROVED', 'PAID']),
              payee_bank_account: null,
              updated_at: (reported + 3_600_000) * 1000,
            },
            source: { ts_ms: reported, db: 'claims', table: 'claim' },
            op: 'c',
            ts_ms: reported + 100,
          }),
        },
        insured,
      );
    }
    if (row.SRCEBUS === 'BA' && owner.kind === 'P' && owner.idNo !== null && owner.idNo.length !== 17) {
      const values = [
        r.pick(['BOC', 'ICBC', 'CCB', 'ABC']),
        pad(r.int(1, 999), 4),
        no,
        fullName(owner),
        owner.idType ?? '01',
        owner.idNo,
        owner.mobile ?? '',
        `6217${pad(owner.seq, 12)}`,
        String(row.INSTPREM),
        String(Math.min(Number(row.OCCDATE), 20261130)),
        'NB',
      ];
      emit(
        {
          topic: 'bancassurance.sales.file',
          key: null,
          value: JSON.stringify(Object.fromEntries(bancassuranceColumns.map((c, i) => [c, values[i] ?? '']))),
        },
        owner,
      );
    }
  }

  // Agents' leads, app users and calls about the same people (and prospects known only from here).
  for (const m of members) {
    if (m.kind !== 'P') continue;
    if (unit.kind === 'prospect' || (m.adult && r.chance(0.5))) {
      n.lead += 1;
      const leadId = `LEAD-${pad(n.lead, 8)}`;
      const name = r.chance(0.15)
        ? toTraditional(fullName(m))
        : r.chance(0.05)
          ? `${m.surname} ${m.given}`
          : fullName(m);
      const y = m.birth.slice(0, 4);
      const mo = Number(m.birth.slice(4, 6));
      const d = Number(m.birth.slice(6));
      const created = base - r.int(30, 900) * day;
      const agent = r.int(1, 2000);
      emit(
        {
          topic: 'agency.leads.v1',
          key: leadId,
          value: JSON.stringify({
            leadId,
            createdAt: iso(created),
            updatedAt: iso(created + r.int(0, 20) * day),
            agentCode: `AG${pad(agent, 4)}`,
            name,
            gender: r.chance(0.5) ? m.sex : m.sex === 'M' ? '男' : '女',
            birthDate: r.chance(0.1) ? null : r.pick([`${y}/${mo}/${d}`, `${y}-${pad(mo, 2)}-${pad(d, 2)}`, m.birth]),
            // Mostly the person's own mobile as the agent typed it; sometimes the agent's own (this lead's agent:
            // drawn apart from the agent code, it made prospects of different agents share a phone, a false ring).
            mobile: r.chance(0.05)
              ? `16${pad(agent * 4_999, 9)}`
              : m.mobile === null
                ? null
                : otherMobileFormat(r, m.mobile, null),
            city: m.place.district.replace(/^.*?省/, '').slice(0, 2),
            source: r.pick(['REFERRAL', 'EVENT', 'COLD_CALL', 'ONLINE']),
            referredByClientNo: null,
            interests: [r.pick(['CRITICAL_ILLNESS', 'ANNUITY', 'EDUCATION', 'HEALTH'])],
            status: r.pick(['NEW', 'CONTACTED', 'QUOTED', 'CONVERTED', 'LOST']),
            convertedPolicyNo: null,
          }),
        },
        m,
      );
    }
    if (m.adult && m.mobile !== null && r.chance(0.6)) {
      const userId = `APP-${pad(m.seq, 8)}`;
      const at = base - r.int(10, 600) * day;
      n.event += 1;
      emit(
        {
          topic: 'app.customer-events.v1',
          key: userId,
          value: JSON.stringify({
            eventId: `W-${n.event}`,
            type: 'REGISTERED',
            at: iso(at),
            userId,
            mobile: m.mobile,
            email: m.email,
            name: r.chance(0.6) ? fullName(m) : null,
            idNumber: null,
            consent: null,
          }),
        },
        m,
      );
      if (m.residentId && r.chance(0.4)) {
        n.event += 1;
        emit(
          {
            topic: 'app.customer-events.v1',
            key: userId,
            value: JSON.stringify({
              eventId: `W-${n.event}`,
              type: 'REAL_NAME_VERIFIED',
              at: iso(at + day),
              userId,
              name: fullName(m),
              idNumber: m.idNo,
            }),
          },
          m,
        );
      }
    }
    if (unit.kind !== 'prospect' && r.chance(0.15)) {
      n.call += 1;
      const id = `CALL-${pad(n.call, 9)}`;
      const byPhone = m.mobile !== null && r.chance(0.7);
      emit(
        {
          topic: 'contact.interactions.v1',
          key: id,
          value: JSON.stringify({
            interactionId: id,
            type: 'INBOUND_CALL',
            subtype: null,
            at: iso(base - r.int(1, 300) * day),
            callerNumber: byPhone ? m.mobile : null,
            clientNo: byPhone ? null : m.clientNo,
            policyNo: null,
            agentId: `CC${pad(r.int(1, 80), 3)}`,
            summary: '咨询保单',
            outcome: 'RESOLVED',
            satisfaction: r.int(1, 5),
            complaint: null,
          }),
        },
        m,
      );
    }
  }
}
