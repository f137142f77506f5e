import { generateCorePolicyDemo, type DemoMessage } from './generate-core-policy.ts';
import { seeded } from './random.ts';

/**
 * A whole insurer's change stream at a chosen size, for load tests, the crash test and the benchmarks: the
 * core-policy stream of generate-core-policy.ts (clients, policies, covers, roles) and, around it, what the
 * other source systems send about the same customers — premium payments from billing (the payer's identity
 * repeated in every payment, as the contract has it), claims from the claims system (Debezium without schemas),
 * calls and follow-ups from the contact centre, app registrations and leads. Seeded: the same options give the
 * same messages, so two runs (crashed and uninterrupted) can be compared.
 */
export type TrafficOptions = {
  seed?: number;
  clients?: number;
  policies?: number;
  paymentsPerPolicy?: number;
  claimRate?: number;
  callsPerClient?: number;
};

type Client = { no: string; name: string | null; idType: string | null; idNo: string | null; mobile: string | null };
type PolicyInfo = { no: string; commencement: number | null };

const after = (m: DemoMessage): Record<string, unknown> | null => {
  if (m.value === null) return null;
  const v = JSON.parse(m.value) as { payload?: { after?: Record<string, unknown> | null } };
  return v.payload?.after ?? null;
};
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

export function generateTraffic(opts: TrafficOptions = {}): DemoMessage[] {
  const seed = opts.seed ?? 20261202;
  const core = generateCorePolicyDemo({ seed, clients: opts.clients ?? 300, policies: opts.policies ?? 400 });
  const r = seeded(seed + 1);
  const clients = new Map<string, Client>();
  const policies = new Map<string, PolicyInfo>();
  const owner = new Map<string, string>();
  for (const m of core) {
    const row = after(m);
    if (!row) continue;
    if (m.topic.endsWith('.CLIENT')) {
      const no = String(row.CLNTNUM).trim();
      const name =
        row.CLTTYPE === 'C' ? str(row.LGIVNAME) : [str(row.SURNAME), str(row.GIVNAME)].filter(Boolean).join('') || null;
      clients.set(no, { no, name, idType: str(row.IDTYPE), idNo: str(row.IDNO), mobile: str(row.MOBILE) });
    } else if (m.topic.endsWith('.CHDR')) {
      policies.set(String(row.CHDRNUM).trim(), {
        no: String(row.CHDRNUM).trim(),
        commencement: typeof row.OCCDATE === 'number' ? row.OCCDATE : null,
      });
    } else if (m.topic.endsWith('.CLRR') && String(row.CLRRROLE).trim() === 'OW') {
      owner.set(String(row.CHDRNUM).trim(), String(row.CLNTNUM).trim());
    }
  }

  const out: DemoMessage[] = [...core];
  const day = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000);
  let n = 0;
  const paymentsPerPolicy = opts.paymentsPerPolicy ?? 2.5;
  const claimRate = opts.claimRate ?? 0.15;
  for (const policy of policies.values()) {
    const holder = clients.get(owner.get(policy.no) ?? '');
    if (!holder || holder.name === null || holder.idNo === null) continue;
    const payer = { name: holder.name, idType: holder.idType ?? '01', idNumber: holder.idNo, mobile: holder.mobile };
    const payments = Math.floor(paymentsPerPolicy) + (r.chance(paymentsPerPolicy % 1) ? 1 : 0);
    for (let i = 0; i < payments; i += 1) {
      const id = `PAY-${policy.no}-${i + 1}`;
      const failed = r.chance(0.05);
      const at = day(r.int(0, 300)).toISOString();
      out.push({
        topic: 'billing.payments.v1',
        key: id,
        value: JSON.stringify({
          eventId: `EV-${id}`,
          eventType: failed ? 'PAYMENT_FAILED' : 'PREMIUM_PAID',
          occurredAt: at,
          paymentId: id,
          policyNo: policy.no,
          payer,
          amount: `${r.int(500, 20000)}.00`,
          currency: 'CNY',
          method: 'BANK_DEBIT',
          bankAccount: { bankCode: 'ICBC', accountNo: `622202${String(r.int(0, 1e12)).padStart(13, '0')}` },
          status: failed ? 'FAILED' : 'SUCCESS',
          failureReason: failed ? 'INSUFFICIENT_FUNDS' : null,
        }),
      });
    }
    if (r.chance(claimRate)) {
      n += 1;
      const claimId = `7f1c2d6e-0000-4000-8000-${String(n).padStart(12, '0')}`;
      const reported = day(r.int(100, 300)).getTime();
      const row = {
        claim_id: claimId,
        claim_no: `CLM${String(2026000000 + n)}`,
        policy_no: policy.no,
        claimant_name: holder.name,
        claimant_id_type: holder.idType ?? '01',
        claimant_id_no: holder.idNo,
        claimant_phone: holder.mobile,
        incident_date: Math.floor(reported / 86_400_000) - r.int(1, 30),
        reported_at: reported * 1000,
        cause_code: r.pick(['HOS', 'ACC', 'CI', 'ILL']),
        claimed_amount: `${r.int(1000, 50000)}.00`,
        paid_amount: `${r.int(0, 40000)}.00`,
        status: r.pick(['REPORTED', 'APPROVED', 'PAID']),
        payee_bank_account: null,
        updated_at: reported * 1000 + 3_600_000_000,
      };
      out.push({
        topic: 'claims.public.claim',
        key: JSON.stringify({ claim_id: claimId }),
        value: JSON.stringify({
          before: null,
          after: row,
          source: { ts_ms: reported, db: 'claims', table: 'claim' },
          op: 'c',
          ts_ms: reported + 100,
        }),
      });
    }
  }
  const callsPerClient = opts.callsPerClient ?? 0.5;
  let calls = 0;
  for (const client of clients.values()) {
    const count = Math.floor(callsPerClient) + (r.chance(callsPerClient % 1) ? 1 : 0);
    for (let i = 0; i < count; i += 1) {
      calls += 1;
      const id = `CALL-${String(calls).padStart(8, '0')}`;
      const followUp = r.chance(0.3);
      out.push({
        topic: 'contact.interactions.v1',
        key: id,
        value: JSON.stringify({
          interactionId: id,
          type: followUp ? 'FOLLOW_UP' : 'INBOUND_CALL',
          subtype: followUp ? 'NEW_POLICY' : null,
          at: day(r.int(0, 300)).toISOString(),
          callerNumber: followUp ? null : client.mobile,
          clientNo: followUp || client.mobile === null ? client.no : null,
          policyNo: null,
          agentId: `CC${String(r.int(1, 80)).padStart(3, '0')}`,
          summary: followUp ? '新单回访' : '咨询保单',
          outcome: followUp ? 'REACHED' : 'RESOLVED',
          satisfaction: r.int(1, 5),
          complaint: null,
        }),
      });
    }
    if (client.mobile !== null && r.chance(0.2)) {
      const userId = `APP-${client.no}`;
      out.push({
        topic: 'app.customer-events.v1',
        key: userId,
        value: JSON.stringify({
          eventId: `W-${client.no}`,
          type: 'REGISTERED',
          at: day(r.int(0, 300)).toISOString(),
          userId,
          mobile: client.mobile,
          email: null,
          name: client.name,
          idNumber: null,
          consent: null,
        }),
      });
    }
  }
  return out;
}
