import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Policies, covers and roles are keyed by the source's natural keys (system + policy number + client number),
 * not by golden ids: a role may arrive before its policy or its client, and it links up by itself when they
 * arrive because the customer is found through source_record at read time.
 */
export const Policy = defineEntity({
  name: 'Policy',
  tableName: 'policy',
  properties: {
    id: p.uuid().primary(),
    system: p.text(),
    policyNo: p.text(),
    productCode: p.text().nullable(),
    status: p.text().nullable(),
    commencementDate: p.date().nullable(),
    paidToDate: p.date().nullable(),
    sumInsured: p.decimal('string').nullable(),
    premium: p.decimal('string').nullable(),
    billingFrequency: p.text().nullable(),
    channel: p.text().nullable(),
    agentCode: p.text().nullable(),
    /** Set by the sync step when the status changes to RI (reinstated) / the sum insured goes up. */
    reinstatedAt: p.datetime().nullable(),
    sumInsuredIncreasedAt: p.datetime().nullable(),
    sourceTime: p.datetime().nullable(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
  },
});
export type Policy = InferEntity<typeof Policy>;

export const PolicyCover = defineEntity({
  name: 'PolicyCover',
  tableName: 'policy_cover',
  properties: {
    id: p.uuid().primary(),
    system: p.text(),
    policyNo: p.text(),
    coverage: p.text(),
    rider: p.text(),
    productCode: p.text().nullable(),
    sumInsured: p.decimal('string').nullable(),
    premium: p.decimal('string').nullable(),
    status: p.text().nullable(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
  },
});
export type PolicyCover = InferEntity<typeof PolicyCover>;

export const PolicyRole = defineEntity({
  name: 'PolicyRole',
  tableName: 'policy_role',
  properties: {
    id: p.uuid().primary(),
    system: p.text(),
    policyNo: p.text(),
    clientSourceId: p.text(),
    role: p.enum(['POLICYHOLDER', 'INSURED', 'BENEFICIARY', 'PAYER'] as const),
    beneficiaryOrder: p.integer().nullable(),
    sharePercent: p.decimal('string').nullable(),
    current: p.boolean(),
    sourceVersion: p.bigint('string'),
    deleted: p.boolean().default(false),
  },
});
export type PolicyRole = InferEntity<typeof PolicyRole>;
