import { marks } from '../db/sql-sets.ts';
import { executeBound } from '../db/bound-sql.ts';
import {
  type ErrorResult,
  invalidState,
  isErrorResult,
  notFound,
  selfApproval,
  validationFailure,
} from '../domain/results.ts';
import { isUuid } from '../domain/errors.ts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { entryKeys, normaliseEntry, screenEntry, type EntryIdentifiers } from './screening.ts';

/**
 * Blacklist entries with maker–checker: a proposal takes effect only when a second, different risk admin
 * approves it. Entries are never deleted (deactivated instead); every change is audited; approval and
 * deactivation (re)screen the customers the entry can hit, at once.
 */
export type ListName = 'INTERNAL_FRAUD' | 'BAD_DEBT' | 'SANCTIONS' | 'ALLOW';
export type ProposeInput = EntryIdentifiers & {
  list: ListName;
  reason: string;
  authority: string | null;
  effectiveFrom: string | null;
  effectiveTo: string | null;
};
/** Expected failures of the maker–checker steps (src/domain/results.ts). */
export type Failure = ErrorResult;

export type EntryRow = {
  id: string;
  list: ListName;
  status: string;
  proposed_by: string;
  approved_by: string | null;
  version: number;
};

async function audit(
  em: EntityManager,
  entryId: string,
  action: string,
  actor: string,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await executeBound(
    em,
    `insert into blacklist_audit (id, entry_id, action, actor, detail) values (gen_random_uuid(), ?, ?, ?, ?::jsonb)`,
    [entryId, action, actor, JSON.stringify(detail)],
  );
}

export function validateProposal(input: ProposeInput): string | null {
  const n = normaliseEntry(input);
  if (input.idNumber && !n.idNumber) return `idNumber ${JSON.stringify(input.idNumber)} is not a valid identity number`;
  if (input.phone && !n.phoneKey) return `phone ${JSON.stringify(input.phone)} is not a phone number`;
  if (!n.idNumber && !n.nameKey && !n.phoneKey && !n.bankAccount && !n.creditCode)
    return 'an entry needs at least one identifier (id number, name, phone, bank account or credit code)';
  if (input.birthDate && !/^\d{4}-\d{2}-\d{2}$/.test(input.birthDate)) return 'birthDate must be YYYY-MM-DD';
  if (!input.reason.trim()) return 'reason is required';
  if (input.effectiveFrom && input.effectiveTo && input.effectiveTo < input.effectiveFrom)
    return 'effectiveTo is before effectiveFrom';
  return null;
}

export async function proposeEntry(em: EntityManager, input: ProposeInput, actor: string): Promise<string | Failure> {
  const problem = validateProposal(input);
  if (problem) return validationFailure(problem);
  const n = normaliseEntry(input);
  const id = randomUUID();
  await executeBound(
    em,
    `insert into blacklist_entry (id, list, status, id_number, full_name, name_key, name_pinyin, birth_date, phone_key, bank_account, credit_code, reason, authority, effective_from, effective_to, proposed_by)
     values (?, ?, 'PROPOSED', ?, ?, ?, ?, ?::date, ?, ?, ?, ?, ?, ?::date, ?::date, ?)`,
    [
      id,
      input.list,
      n.idNumber,
      input.fullName,
      n.nameKey,
      n.namePinyin,
      n.birthDate,
      n.phoneKey,
      n.bankAccount,
      n.creditCode,
      input.reason,
      input.authority,
      input.effectiveFrom,
      input.effectiveTo,
      actor,
    ],
  );
  await audit(em, id, 'PROPOSED', actor, { list: input.list });
  return id;
}

async function lockEntry(em: EntityManager, id: string): Promise<EntryRow | Failure> {
  if (!isUuid(id)) return notFound(`blacklist entry ${id} does not exist`);
  const [row] = await executeBound<EntryRow[]>(
    em,
    `select id, list, status, proposed_by, approved_by, version from blacklist_entry where id = ? for update`,
    [id],
  );
  return row ?? notFound(`blacklist entry ${id} does not exist`);
}

export async function approveEntry(em: EntityManager, id: string, actor: string): Promise<string | Failure> {
  const row = await lockEntry(em, id);
  if (isErrorResult(row)) return row;
  if (row.status !== 'PROPOSED') return invalidState(`entry is ${row.status}, not PROPOSED`);
  if (row.proposed_by === actor)
    return selfApproval('the proposer cannot approve their own proposal: a second risk admin must approve it');
  await executeBound(
    em,
    `update blacklist_entry set status = 'ACTIVE', approved_by = ?, version = version + 1, updated_at = now() where id = ?`,
    [actor, id],
  );
  await writeKeys(em, id);
  await audit(em, id, 'APPROVED', actor);
  await screenEntry(em, id);
  return id;
}

export async function rejectEntry(
  em: EntityManager,
  id: string,
  actor: string,
  reason: string | null,
): Promise<string | Failure> {
  const row = await lockEntry(em, id);
  if (isErrorResult(row)) return row;
  if (row.status !== 'PROPOSED') return invalidState(`entry is ${row.status}, not PROPOSED`);
  await executeBound(
    em,
    `update blacklist_entry set status = 'REJECTED', version = version + 1, updated_at = now() where id = ?`,
    [id],
  );
  await audit(em, id, 'REJECTED', actor, { reason });
  return id;
}

export async function deactivateEntry(
  em: EntityManager,
  id: string,
  actor: string,
  reason: string,
): Promise<string | Failure> {
  const row = await lockEntry(em, id);
  if (isErrorResult(row)) return row;
  if (row.status !== 'ACTIVE' && row.status !== 'SUSPENDED')
    return invalidState(`entry is ${row.status}; only active or suspended entries can be deactivated`);
  await executeBound(
    em,
    `update blacklist_entry set status = 'INACTIVE', version = version + 1, updated_at = now() where id = ?`,
    [id],
  );
  await executeBound(em, `delete from blacklist_key where entry_id = ?`, [id]);
  await audit(em, id, 'DEACTIVATED', actor, { reason });
  await screenEntry(em, id);
  return id;
}

async function writeKeys(em: EntityManager, id: string): Promise<void> {
  const [e] = await executeBound<
    {
      id_number: string | null;
      full_name: string | null;
      birth_date: string | null;
      phone_key: string | null;
      bank_account: string | null;
      credit_code: string | null;
    }[]
  >(
    em,
    `select id_number, full_name, to_char(birth_date, 'YYYY-MM-DD') as birth_date, phone_key, bank_account, credit_code from blacklist_entry where id = ?`,
    [id],
  );
  if (!e) return;
  const keys = entryKeys(
    normaliseEntry({
      idNumber: e.id_number,
      fullName: e.full_name,
      birthDate: e.birth_date,
      phone: e.phone_key,
      bankAccount: e.bank_account,
      creditCode: e.credit_code,
    }),
  );
  await executeBound(em, `delete from blacklist_key where entry_id = ?`, [id]);
  if (keys.length > 0)
    await executeBound(
      em,
      `insert into blacklist_key (key_hash, entry_id) values ${marks(keys.length, '(hashtextextended(?, 0), ?)')} on conflict do nothing`,
      keys.flatMap((k) => [k, id]),
    );
}
