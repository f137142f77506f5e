import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import { normalizeAddress } from '../domain/normalize/address.ts';
import { phoneSearchKey } from '../domain/normalize/phone.ts';
import {
  type InvalidState,
  invalidState,
  type NotFound,
  notFound,
  type SelfApproval,
  selfApproval,
  type ValidationFailure,
  validationFailure,
} from '../domain/results.ts';
import { holdersOf } from '../risk/alert-facts.ts';
import { newRiskWork, queueRiskWork } from '../risk/risk-work.ts';
import { decodeCursor, encodeCursor, pageOf, pageSize } from './pagination.ts';

/**
 * Exclusions from the network rules, maker–checker: the hub proposes values held by very many customers
 * (src/risk/network-sharers.ts), a risk admin may propose others; a risk admin other than the proposer approves
 * or rejects. A decision queues the re-evaluation of the value's holders, so their alerts follow at once.
 */
export type NetworkExclusionRow = {
  id: string;
  contact: 'PHONE' | 'ADDRESS' | 'BANK_ACCOUNT';
  /** For the masking of `key` (CONTACT_POINT decides by the parent's kind). */
  kind: 'MOBILE' | 'ADDRESS' | 'BANK_ACCOUNT';
  key: string;
  holders: number;
  status: 'PROPOSED' | 'APPROVED' | 'REJECTED';
  proposedBy: string;
  reason: string;
  proposedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
};

const columns = `id::text as id, contact, case contact when 'PHONE' then 'MOBILE' else contact end as kind, key, holders, status,
  proposed_by as "proposedBy", reason, proposed_at as "proposedAt", decided_by as "decidedBy", decided_at as "decidedAt"`;

/** The key the network rules compare, from a value as a person types it. */
function keyOf(contact: NetworkExclusionRow['contact'], value: string): string | null {
  if (contact === 'PHONE') return phoneSearchKey(value);
  if (contact === 'ADDRESS') return normalizeAddress(value).key;
  const account = value.replace(/[^0-9A-Za-z]/g, '');
  return account.length >= 8 ? account : null;
}

type Result = NetworkExclusionRow | NotFound | InvalidState | SelfApproval | ValidationFailure;

export class NetworkExclusionService {
  private readonly em: EntityManager;
  private readonly actor: string;

  constructor(em: EntityManager, actor: string) {
    this.em = em;
    this.actor = actor;
  }

  async list(args: { status?: string | null; first?: number | null; after?: string | null }) {
    const limit = pageSize(args.first);
    const after = decodeCursor(
      args.after,
      'exclusion',
      (v): v is [string, string] => Array.isArray(v) && v.length === 2,
    );
    const rows = await executeBound<NetworkExclusionRow[]>(
      this.em,
      `select ${columns} from network_exclusion where (?::text is null or status = ?)
          and (?::timestamptz is null or (proposed_at, id) < (?::timestamptz, ?::uuid))
        order by proposed_at desc, id desc limit ?`,
      [args.status ?? null, args.status ?? null, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
    return pageOf(rows, limit, after !== null, (r) =>
      encodeCursor('exclusion', [new Date(r.proposedAt).toISOString(), r.id]),
    );
  }

  async propose(contact: NetworkExclusionRow['contact'], value: string, reason: string): Promise<Result> {
    const key = keyOf(contact, value);
    if (!key) return validationFailure(`the value is not a valid ${contact.toLowerCase().replace('_', ' ')}`);
    if (reason.trim() === '') return validationFailure('a proposal needs a reason');
    return this.em.transactional(async (em) => {
      const [row] = await executeBound<NetworkExclusionRow[]>(
        em,
        `insert into network_exclusion (contact, key, holders, proposed_by, reason)
         values (?, ?, 0, ?, ?) on conflict (contact, key) do nothing returning ${columns}`,
        [contact, key, this.actor, reason],
      );
      if (!row) return invalidState('this value already has an exclusion or a proposal');
      return row;
    });
  }

  approve(id: string): Promise<Result> {
    return this.decide(id, 'APPROVED', null);
  }

  reject(id: string, reason: string | null): Promise<Result> {
    return this.decide(id, 'REJECTED', reason);
  }

  private async decide(id: string, status: 'APPROVED' | 'REJECTED', reason: string | null): Promise<Result> {
    if (!isUuid(id)) return notFound(`network exclusion ${id} does not exist`);
    return this.em.transactional(async (em) => {
      const [row] = await executeBound<NetworkExclusionRow[]>(
        em,
        `select ${columns} from network_exclusion where id = ? for update`,
        [id],
      );
      if (!row) return notFound(`network exclusion ${id} does not exist`);
      if (row.status !== 'PROPOSED') return invalidState(`the exclusion is already ${row.status.toLowerCase()}`);
      if (row.proposedBy === this.actor) return selfApproval('a second risk admin must decide on your proposal');
      const [decided] = await executeBound<NetworkExclusionRow[]>(
        em,
        `update network_exclusion set status = ?, decided_by = ?, decided_at = now(),
                reason = case when ?::text is null then reason else reason || ' — ' || ? end
          where id = ? returning ${columns}`,
        [status, this.actor, reason, reason, id],
      );
      const evidenceKey = { PHONE: 'phones', ADDRESS: 'addresses', BANK_ACCOUNT: 'bankAccounts' }[row.contact];
      const work = newRiskWork();
      for (const holder of await holdersOf(em, { [evidenceKey]: [{ key: row.key }] })) work.evaluate.add(holder);
      await queueRiskWork(em, work);
      return decided as NetworkExclusionRow;
    });
  }
}
