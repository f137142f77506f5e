import { executeBound } from '../db/bound-sql.ts';
import { notFound, selfApproval } from '../domain/results.ts';
import { randomUUID } from 'node:crypto';
import { csvRecords } from '../files/csv-records.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  approveEntry,
  proposeEntry,
  validateProposal,
  type Failure,
  type ListName,
  type ProposeInput,
} from './blacklist.service.ts';

/**
 * Bulk import of a list file (regulator or sanctions lists, internal lists moved from another system):
 * a CSV with header `list,id_number,full_name,birth_date,phone,bank_account,credit_code,reason,authority,
 * effective_from,effective_to`, read row by row. Every good row becomes a PROPOSED entry in one batch; every bad row is reported
 * with its line number and reason. The batch takes effect only when a second risk admin approves it.
 */
export type ImportResult = { batchId: string; proposed: number; rejected: { line: number; reason: string }[] };
const lists: readonly ListName[] = ['INTERNAL_FRAUD', 'BAD_DEBT', 'SANCTIONS', 'ALLOW'];
const date = (v: string | undefined) => (v && v.trim() ? v.trim() : null);

export async function importListFile(
  em: EntityManager,
  path: string,
  proposer: string,
  encoding = 'utf-8',
): Promise<ImportResult> {
  const batchId = randomUUID();
  const result: ImportResult = { batchId, proposed: 0, rejected: [] };
  // Row by row from the file (src/files/csv-records.ts): a malformed line is reported and skipped.
  for await (const row of csvRecords(path, encoding)) {
    if ('error' in row) {
      result.rejected.push({ line: row.line, reason: `malformed line: ${row.error}` });
      continue;
    }
    const { record: r } = row;
    const info = { lines: row.line };
    const list = (r.list ?? '').toUpperCase() as ListName;
    if (!lists.includes(list)) {
      result.rejected.push({
        line: info.lines,
        reason: `list must be one of ${lists.join(', ')} (got ${JSON.stringify(r.list ?? '')})`,
      });
      continue;
    }
    const bad = ['birth_date', 'effective_from', 'effective_to'].find(
      (c) => date(r[c]) !== null && !/^\d{4}-\d{2}-\d{2}$/.test(date(r[c]) as string),
    );
    if (bad) {
      result.rejected.push({ line: info.lines, reason: `${bad} must be YYYY-MM-DD (got ${JSON.stringify(r[bad])})` });
      continue;
    }
    const input: ProposeInput = {
      list,
      idNumber: date(r.id_number),
      fullName: date(r.full_name),
      birthDate: date(r.birth_date),
      phone: date(r.phone),
      bankAccount: date(r.bank_account),
      creditCode: date(r.credit_code),
      reason: r.reason ?? '',
      authority: date(r.authority),
      effectiveFrom: date(r.effective_from),
      effectiveTo: date(r.effective_to),
    };
    const problem = validateProposal(input);
    if (problem) {
      result.rejected.push({ line: info.lines, reason: problem });
      continue;
    }
    const id = await proposeEntry(em, input, proposer);
    if (typeof id !== 'string') {
      result.rejected.push({ line: info.lines, reason: id.message });
      continue;
    }
    await executeBound(em, `update blacklist_entry set import_batch = ? where id = ?`, [batchId, id]);
    result.proposed += 1;
  }
  return result;
}

/** Approves every still-proposed entry of a batch (maker–checker applies to each entry). */
export async function approveBatch(
  em: EntityManager,
  batchId: string,
  approver: string,
): Promise<{ approved: number } | Failure> {
  const rows = await executeBound<{ id: string; proposed_by: string }[]>(
    em,
    `select id, proposed_by from blacklist_entry where import_batch = ? and status = 'PROPOSED' order by id`,
    [batchId],
  );
  if (rows.length === 0) return notFound(`no proposed entries in batch ${batchId}`);
  if (rows.some((r) => r.proposed_by === approver))
    return selfApproval('the proposer of the batch cannot approve it: a second risk admin must');
  let approved = 0;
  for (const r of rows) {
    const outcome = await approveEntry(em, r.id, approver);
    if (typeof outcome === 'string') approved += 1;
  }
  return { approved };
}
