/**
 * The activity kinds — payments, claims, interactions, leads, consents, registrations, bank sales — and the
 * typed details each carries. This is the one list: the canonical model, the `activity` table's enum, the
 * GraphQL types and the risk rules all read it from here. Columns users filter on (type, status, time, amount,
 * policy) are typed columns of `activity`; the rest is the kind's details, stored in `activity.data`.
 */
export const activityKinds = [
  'PAYMENT',
  'CLAIM',
  'INTERACTION',
  'LEAD',
  'CONSENT',
  'REGISTRATION',
  'BANK_SALE',
] as const;
export type ActivityKind = (typeof activityKinds)[number];

/** Most change events carry the source's event id: kept for lineage and duplicate checks. */
type EventRef = { eventId?: string | null };

export type PaymentDetails = EventRef & {
  currency: string;
  method: string | null;
  bankCode: string | null;
  bankAccount: string | null;
  failureReason: string | null;
};
export type ClaimDetails = {
  claimNo: string | null;
  /** ISO date (YYYY-MM-DD). */
  incidentDate: string | null;
  claimedAmount: string | null;
  paidAmount: string | null;
  payeeBankAccount: string | null;
};
export type InteractionDetails = EventRef & {
  subtype: string | null;
  outcome: string | null;
  satisfaction: number | null;
  agentId: string | null;
  summary: string | null;
  callerNumber: string | null;
  complaintCategory: string | null;
  complaintStatus: string | null;
};
export type LeadDetails = EventRef & {
  agentCode: string | null;
  referredByClientNo: string | null;
  interests: string[];
  city: string | null;
};
export type ConsentDetails = EventRef & { channel: string };
export type RegistrationDetails = EventRef;
export type BankSaleDetails = { bankCode: string | null; branchCode: string | null; payingAccount: string | null };

export type ActivityDetails = {
  PAYMENT: PaymentDetails;
  CLAIM: ClaimDetails;
  INTERACTION: InteractionDetails;
  LEAD: LeadDetails;
  CONSENT: ConsentDetails;
  REGISTRATION: RegistrationDetails;
  BANK_SALE: BankSaleDetails;
};

/**
 * Where each kind keeps the bank account it names (the customer's own, a claim's payee, a bank sale's paying
 * account). Screening and the shared-account alert rule read accounts through this map, never by key name.
 */
export const bankAccountKey = {
  PAYMENT: 'bankAccount',
  CLAIM: 'payeeBankAccount',
  BANK_SALE: 'payingAccount',
} as const satisfies { [K in ActivityKind]?: keyof ActivityDetails[K] };

/** The kinds whose changes can change a customer's risk evidence (claims history, premiums paid). */
export const moneyMovementKinds: readonly ActivityKind[] = ['PAYMENT', 'CLAIM'];
