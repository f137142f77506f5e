import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, decimal, requiredText, text } from '../framework/fields.ts';
import { isoInstant, objectField, parseJsonEvent, versionOfInstant } from '../framework/json-event.ts';
import { documentSourceId, personAttributes } from '../framework/party-builder.ts';
import { phoneSearchKey } from '../../domain/normalize/index.ts';

/**
 * billing — payment platform JSON events (contract §2). The payer is identified by name and id document, never
 * by the core client number: each payer becomes a `billing` source record (id document as source id) that
 * identity resolution links to the golden customer. Delivered at least once and out of order: the payment's
 * state is versioned by `occurredAt`, so the same eventId twice or an older event changes nothing.
 */
export const billingManifest: ConnectorManifest = {
  id: 'billing',
  version: '1.0.0',
  sourceSystem: 'billing',
  topics: ['billing.payments.v1'],
  keyFormat: 'string',
  valueFormat: 'json',
  // Each payment event carries its payer whole (name, id document, mobile as billed), not a change of the payer.
  messages: 'records',
  description:
    'Payment platform: premiums due/paid/failed, refunds and payouts, with the payer identified by id document.',
};

const eventTypes = {
  PREMIUM_DUE: 'PREMIUM_DUE',
  PREMIUM_PAID: 'PREMIUM_PAID',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  REFUND: 'REFUND',
  PAYOUT: 'PAYOUT',
} as const;
const methods = { BANK_DEBIT: 'BANK_DEBIT', CARD: 'CARD', WECHAT: 'WECHAT', ALIPAY: 'ALIPAY', CASH: 'CASH' } as const;
const currencies = { CNY: 'CNY' } as const;

export function mapBilling(message: SourceMessage): CanonicalChange[] {
  const e = parseJsonEvent(message.value);
  if (e === null) return [];
  // The event id is the idempotency id of a change event: one without it cannot be told from a retry.
  const eventId = requiredText(e, 'eventId');
  const paymentId = requiredText(e, 'paymentId');
  const occurredAt = isoInstant(e, 'occurredAt') as Date;
  const version = { sourceVersion: versionOfInstant(occurredAt), sourceTime: occurredAt };
  const payer = objectField(e, 'payer');
  const bank = objectField(e, 'bankAccount');
  const amount = decimal(e, 'amount');
  if (amount === null) throw new MappingError('MISSING_FIELD', 'amount is required');
  const changes: CanonicalChange[] = [];
  let party: { system: string; sourceId: string } | null = null;
  if (payer) {
    const mobile = text(payer, 'mobile');
    const sourceId = documentSourceId(
      text(payer, 'idType'),
      text(payer, 'idNumber'),
      mobile ? `MOBILE:${phoneSearchKey(mobile) ?? mobile}` : null,
    );
    if (sourceId) {
      party = { system: 'billing', sourceId };
      changes.push({
        entity: 'party',
        op: 'upsert',
        system: 'billing',
        sourceId,
        raw: payer,
        attributes: personAttributes({
          name: text(payer, 'name'),
          idType: text(payer, 'idType'),
          idNumber: text(payer, 'idNumber'),
          mobile,
        }),
        ...version,
      });
    }
  }
  changes.push({
    entity: 'activity',
    op: 'upsert',
    kind: 'PAYMENT',
    system: 'billing',
    sourceKey: paymentId,
    ...version,
    data: {
      party,
      callerPhoneKey: null,
      policyNo: text(e, 'policyNo'),
      occurredAt,
      type: code(e, 'eventType', eventTypes),
      status: text(e, 'status'),
      amount,
      details: {
        eventId,
        currency: code(e, 'currency', currencies) ?? 'CNY',
        method: code(e, 'method', methods),
        bankCode: bank ? text(bank, 'bankCode') : null,
        bankAccount: bank ? text(bank, 'accountNo') : null,
        failureReason: text(e, 'failureReason'),
      },
    },
  });
  return changes;
}

export const billingConnector: Connector = { manifest: billingManifest, map: mapBilling };
