import type { ActivityDetails, ActivityKind } from '../domain/activity.ts';
import type { Resolvers } from '../generated/graphql.ts';
import type { Activity } from '../model/index.ts';

/**
 * Activity types read their typed fields from the row's columns and its kind's details (`ActivityDetails`,
 * stored in `data`); a field a row predates reads as null.
 */
const details = <K extends ActivityKind>(a: Activity, _kind: K): Partial<ActivityDetails[K]> =>
  (a.data ?? {}) as Partial<ActivityDetails[K]>;
const typeNames: Record<ActivityKind, string> = {
  PAYMENT: 'Payment',
  CLAIM: 'Claim',
  INTERACTION: 'Interaction',
  LEAD: 'Lead',
  CONSENT: 'Consent',
  REGISTRATION: 'Registration',
  BANK_SALE: 'BankSale',
};

export const activityResolvers: Resolvers = {
  Activity: { __resolveType: (a) => typeNames[a.kind] as never },
  Payment: {
    currency: (a) => details(a, 'PAYMENT').currency ?? null,
    method: (a) => details(a, 'PAYMENT').method ?? null,
    bankAccount: (a) => details(a, 'PAYMENT').bankAccount ?? null,
    failureReason: (a) => details(a, 'PAYMENT').failureReason ?? null,
  },
  Claim: {
    claimNo: (a) => details(a, 'CLAIM').claimNo ?? null,
    incidentDate: (a) => details(a, 'CLAIM').incidentDate ?? null,
    claimedAmount: (a) => details(a, 'CLAIM').claimedAmount ?? null,
    paidAmount: (a) => details(a, 'CLAIM').paidAmount ?? null,
  },
  Interaction: {
    subtype: (a) => details(a, 'INTERACTION').subtype ?? null,
    outcome: (a) => details(a, 'INTERACTION').outcome ?? null,
    satisfaction: (a) => details(a, 'INTERACTION').satisfaction ?? null,
    agentId: (a) => details(a, 'INTERACTION').agentId ?? null,
    summary: (a) => details(a, 'INTERACTION').summary ?? null,
    complaintCategory: (a) => details(a, 'INTERACTION').complaintCategory ?? null,
  },
  Lead: {
    agentCode: (a) => details(a, 'LEAD').agentCode ?? null,
    referredByClientNo: (a) => details(a, 'LEAD').referredByClientNo ?? null,
    interests: (a) => {
      const interests = details(a, 'LEAD').interests;
      return Array.isArray(interests) ? interests : [];
    },
  },
  Consent: { channel: (a) => details(a, 'CONSENT').channel ?? null },
  BankSale: {
    premium: (a) => a.amount ?? null,
    bankCode: (a) => details(a, 'BANK_SALE').bankCode ?? null,
    branchCode: (a) => details(a, 'BANK_SALE').branchCode ?? null,
    payingAccount: (a) => details(a, 'BANK_SALE').payingAccount ?? null,
  },
};
