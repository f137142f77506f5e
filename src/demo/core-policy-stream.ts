import { coreEvent, deleteWithTombstone, type Row } from '../connectors/core-policy/fixtures/events.ts';
import { places } from './places.ts';
import {
  DEMO_CUSTOMER,
  type DemoMessage,
  email,
  mobileFormat,
  occupations,
  pad,
  type Person,
  type Policy,
  products,
  withCheck,
} from './core-policy-values.ts';
import type { CoreGen } from './core-policy-gen.ts';
import type { PolicyBook } from './core-policy-policies.ts';

/**
 * The stream as the source publishes it: the snapshot (op r, one role first), then the changes — client
 * updates, lapses and a reinstatement, beneficiary changes, a re-keyed client, a deleted policy, new business.
 */
export function streamOf(g: CoreGen, people: Person[], clients: Person[], book: PolicyBook): DemoMessage[] {
  const { r, at, later, freshMobile, address, policyCount } = g;
  const { policies, adults, roleRow, addPolicy, pickBeneficiaries } = book;
  // ---- Snapshot (op r): one role first (it arrives before its policy and its client), then the tables.
  const allRoles = [...policies.values()].flatMap((p) => p.roles);
  const early = allRoles.find((x) => String(x.CHDRNUM) === `P${pad(1000001, 7)}`) ?? allRoles[allRoles.length - 1];
  const stream: DemoMessage[] = [];
  if (early) stream.push(coreEvent('role', 'r', early));
  for (const c of clients) stream.push(coreEvent('client', 'r', c.row));
  for (const p of policies.values()) {
    stream.push(coreEvent('policy', 'r', p.row));
    for (const c of p.covers) stream.push(coreEvent('cover', 'r', c));
  }
  for (const x of allRoles) if (x !== early) stream.push(coreEvent('role', 'r', x));

  // ---- Changes after the snapshot.
  const untouchable = new Set<string>([DEMO_CUSTOMER.clientNo]);
  const demoPolicies = new Set(['P9000001', 'P9000002', 'P9000003', 'P9000004']);
  const regularPolicies = [...policies.keys()].filter((k) => !demoPolicies.has(k));
  // The re-keyed person has a valid resident id, so identity resolution can tell it is the same person.
  const rekeyed = people.find(
    (p) =>
      p.kind === 'P' &&
      p.adult &&
      p.clientNo !== DEMO_CUSTOMER.clientNo &&
      p.row.IDTYPE === '01' &&
      p.idNo?.length === 18 &&
      p.idNo === withCheck(p.idNo.slice(0, 17)) &&
      allRoles.some((x) => x.CLNTNUM === p.clientNo && x.VALIDFLAG === '1'),
  );
  if (rekeyed) untouchable.add(rekeyed.clientNo);

  // Client updates: a new mobile, a move, an email added.
  const updatable = clients.filter((p) => p.kind === 'P' && p.adult && !untouchable.has(p.clientNo));
  for (let k = 0; k < Math.min(20, updatable.length); k += 1) {
    const p = r.pick(updatable);
    const what = r.pick(['mobile', 'address', 'email'] as const);
    const changes: Row =
      what === 'mobile'
        ? { MOBILE: mobileFormat(r, freshMobile()) }
        : what === 'address'
          ? address(r.pick(places))
          : { EMAIL: email(r, String(p.row.SURNAME ?? ''), String(p.row.GIVNAME ?? ''), 1990) };
    const row = { ...p.row, ...changes, DTEUPD: later() };
    stream.push(coreEvent('client', 'u', row, { before: p.row }));
    p.row = row;
  }

  // Lapses (IF → LA) and a reinstatement (LA → RI), header and covers.
  const setStatus = (policyNo: string, status: string, extra: Row = {}) => {
    const p = policies.get(policyNo);
    if (!p) return;
    const row = { ...p.row, STATCODE: status, ...extra, DTEUPD: later() };
    stream.push(coreEvent('policy', 'u', row, { before: p.row }));
    p.row = row;
    p.covers = p.covers.map((c) => {
      const next = { ...c, STATCODE: status, DTEUPD: row.DTEUPD as number };
      stream.push(coreEvent('cover', 'u', next, { before: c }));
      return next;
    });
  };
  const inForce = regularPolicies.filter((k) => policies.get(k)?.row.STATCODE === 'IF');
  const lapsing = r.shuffle(inForce).slice(0, 5);
  for (const k of lapsing) setStatus(k, 'LA', { PTDATE: 20260901 });
  if (lapsing[0]) setStatus(lapsing[0], 'RI', { PTDATE: 20270901 });

  // Beneficiary changes: the old role becomes history (VALIDFLAG 2), the new one takes its order and share.
  const withBeneficiary = regularPolicies.filter((k) =>
    policies
      .get(k)
      ?.roles.some((x) => x.CLRRROLE === 'BN' && x.VALIDFLAG === '1' && !untouchable.has(String(x.CLNTNUM))),
  );
  for (const k of r.shuffle(withBeneficiary).slice(0, 3)) {
    const p = policies.get(k) as Policy;
    const old = p.roles.find(
      (x) => x.CLRRROLE === 'BN' && x.VALIDFLAG === '1' && !untouchable.has(String(x.CLNTNUM)),
    ) as Row;
    const insured = p.roles.find((x) => x.CLRRROLE === 'LF');
    const replacement = r
      .shuffle(adults)
      .find(
        (a) =>
          a.clientNo !== insured?.CLNTNUM &&
          !untouchable.has(a.clientNo) &&
          !p.roles.some((x) => x.CLNTNUM === a.clientNo && x.CLRRROLE === 'BN'),
      );
    if (!replacement) continue;
    const history = { ...old, VALIDFLAG: '2', DTEUPD: later() };
    stream.push(coreEvent('role', 'u', history, { before: old }));
    const added = roleRow(k, replacement, 'BN', 0, {
      BNYSEQ: old.BNYSEQ ?? 1,
      BNYPC: old.BNYPC ?? '100.00',
      DTEUPD: later(),
    });
    stream.push(coreEvent('role', 'c', added));
    p.roles = [...p.roles.filter((x) => x !== old), history, added];
  }

  // A re-keyed client: the old number is deleted (delete + tombstone), the same person created under a new
  // number, and the roles moved to it.
  if (rekeyed) {
    const newNo = 'C3000001';
    stream.push(
      ...deleteWithTombstone('client', { ...rekeyed.row, DTEUPD: later() }, Math.floor(at(g.clock()) / 1000)),
    );
    const created = { ...rekeyed.row, CLNTNUM: newNo, DTEUPD: later() };
    stream.push(coreEvent('client', 'c', created));
    for (const p of policies.values()) {
      p.roles = p.roles.map((x) => {
        if (x.CLNTNUM !== rekeyed.clientNo) return x;
        stream.push(...deleteWithTombstone('role', { ...x, DTEUPD: later() }, Math.floor(at(g.clock()) / 1000)));
        const moved = { ...x, CLNTNUM: newNo, DTEUPD: later() };
        stream.push(coreEvent('role', 'c', moved));
        return moved;
      });
    }
    rekeyed.row = created;
    rekeyed.clientNo = newNo;
  }

  // A policy registered in error: its roles, covers and header deleted, each delete followed by a tombstone.
  const deletable = [...regularPolicies]
    .reverse()
    .find((k) => !(policies.get(k)?.roles ?? []).some((x) => untouchable.has(String(x.CLNTNUM))));
  if (deletable) {
    const p = policies.get(deletable) as Policy;
    for (const x of p.roles)
      stream.push(...deleteWithTombstone('role', { ...x, DTEUPD: later() }, Math.floor(at(g.clock()) / 1000)));
    for (const c of p.covers)
      stream.push(...deleteWithTombstone('cover', { ...c, DTEUPD: later() }, Math.floor(at(g.clock()) / 1000)));
    stream.push(...deleteWithTombstone('policy', { ...p.row, DTEUPD: later() }, Math.floor(at(g.clock()) / 1000)));
    policies.delete(deletable);
  }

  // New business after the snapshot: a new client and a policy; its roles arrive first, then the policy and
  // its cover, and the client last (the batch job that copies client records runs after the policy one).
  const newClientNo = 'C3000002';
  const newPlace = r.pick(places);
  const newMobile = freshMobile();
  const newClient: Row = {
    CLNTNUM: newClientNo,
    CLTTYPE: 'P',
    SURNAME: '刘',
    GIVNAME: '洋',
    LGIVNAME: null,
    CLTSEX: 'M',
    CLTDOB: 19920615,
    IDTYPE: '01',
    IDNO: withCheck(`${newPlace.region}19920615${pad(r.int(0, 99) * 10 + 3, 3)}`),
    MOBILE: mobileFormat(r, newMobile),
    PHONE: null,
    EMAIL: null,
    ...address(newPlace),
    OCCPCODE: r.pick(occupations),
    DTEUPD: later(),
  };
  const newPolicyNo = `P${pad(1000000 + policyCount + 1, 7)}`;
  const newPerson: Person = {
    clientNo: newClientNo,
    row: newClient,
    kind: 'P',
    adult: true,
    mobile: newMobile,
    idNo: String(newClient.IDNO),
  };
  addPolicy(newPolicyNo, {
    owner: newPerson,
    insured: newPerson,
    beneficiaries: pickBeneficiaries(1, newPerson),
    status: 'IF',
    product: products[1],
    minute: g.clock() + 1,
  });
  const fresh = policies.get(newPolicyNo) as Policy;
  const stamp = later();
  const stamped = (row: Row): Row => ({ ...row, DTEUPD: stamp });
  for (const x of fresh.roles) stream.push(coreEvent('role', 'c', stamped(x)));
  stream.push(coreEvent('policy', 'c', stamped(fresh.row)));
  for (const c of fresh.covers) stream.push(coreEvent('cover', 'c', stamped(c)));
  stream.push(coreEvent('client', 'c', newClient));
  return stream;
}
