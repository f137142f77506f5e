import { type ActivityKind, bankAccountKey } from '../domain/activity.ts';

type AccountKind = keyof typeof bankAccountKey;

/**
 * SQL for the bank account an activity row names (`alias.data`), read through the typed details' key per kind
 * (src/domain/activity.ts) instead of key names spelled out in each rule. `kinds` chooses whose accounts count:
 * screening checks every account a customer is linked to; the shared-account rule only the accounts money
 * moves through (premiums paid from, claims paid to).
 */
export function bankAccountSql(
  alias: string,
  kinds: readonly AccountKind[] = ['PAYMENT', 'CLAIM', 'BANK_SALE'],
): string {
  return `coalesce(${kinds.map((k) => `${alias}.data->>'${bankAccountKey[k]}'`).join(', ')})`;
}

export const isAccountKind = (kind: ActivityKind): kind is AccountKind => kind in bankAccountKey;
