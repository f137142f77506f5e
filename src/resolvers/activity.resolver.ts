import type { Resolvers } from '../generated/graphql.ts';
import type { Activity } from '../model/index.ts';

/** Activity types read their typed fields from the row's columns and its `data` document. */
const detail = (a: Activity, field: string) => (a.data?.[field] ?? null) as never;
const typeNames = {
  PAYMENT: 'Payment',
  CLAIM: 'Claim',
  INTERACTION: 'Interaction',
  LEAD: 'Lead',
  CONSENT: 'Consent',
  REGISTRATION: 'Registration',
  BANK_SALE: 'BankSale',
} as const;

export const activityResolvers: Resolvers = {
  Activity: { __resolveType: (a) => typeNames[a.kind] },
  Payment: {
    currency: (a) => detail(a, 'currency'),
    method: (a) => detail(a, 'method'),
    bankAccount: (a) => detail(a, 'bankAccount'),
    failureReason: (a) => detail(a, 'failureReason'),
  },
  Claim: {
    claimNo: (a) => detail(a, 'claimNo'),
    incidentDate: (a) => detail(a, 'incidentDate'),
    claimedAmount: (a) => detail(a, 'claimedAmount'),
    paidAmount: (a) => detail(a, 'paidAmount'),
  },
  Interaction: {
    subtype: (a) => detail(a, 'subtype'),
    outcome: (a) => detail(a, 'outcome'),
    satisfaction: (a) => detail(a, 'satisfaction'),
    agentId: (a) => detail(a, 'agentId'),
    summary: (a) => detail(a, 'summary'),
    complaintCategory: (a) => detail(a, 'complaintCategory'),
  },
  Lead: {
    agentCode: (a) => detail(a, 'agentCode'),
    referredByClientNo: (a) => detail(a, 'referredByClientNo'),
    interests: (a) => (Array.isArray(a.data?.interests) ? (a.data.interests as string[]) : []),
  },
  Consent: { channel: (a) => detail(a, 'channel') },
  BankSale: {
    premium: (a) => a.amount ?? null,
    bankCode: (a) => detail(a, 'bankCode'),
    branchCode: (a) => detail(a, 'branchCode'),
    payingAccount: (a) => detail(a, 'payingAccount'),
  },
};
