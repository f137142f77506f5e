import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, requiredText, text } from '../framework/fields.ts';
import { isoInstant, objectField, parseJsonEvent, versionOfInstant } from '../framework/json-event.ts';
import { personAttributes } from '../framework/party-builder.ts';

/**
 * web-app — customer app events (contract §7): registrations, profile updates, real-name verification and
 * consent changes. The app user is a `web-app` source record; its id number is only used once real-name
 * verification has happened (before that it is self-declared and kept out of the record). Consents are kept
 * per purpose and channel with their latest state. An event carries only what it changes (`messages: 'changes'`):
 * the party change states the fields the event has, and the sync step folds it into the user's record.
 */
export const webAppManifest: ConnectorManifest = {
  id: 'web-app',
  version: '1.0.0',
  sourceSystem: 'web-app',
  topics: ['app.customer-events.v1'],
  keyFormat: 'string',
  valueFormat: 'json',
  // An event carries only what it changes (contract §7): null or absent is unchanged; the user is the fold.
  messages: 'changes',
  description: 'Customer app: registrations, profile and real-name verification, consents.',
};

const types = {
  REGISTERED: 'REGISTERED',
  PROFILE_UPDATED: 'PROFILE_UPDATED',
  REAL_NAME_VERIFIED: 'REAL_NAME_VERIFIED',
  CONSENT_CHANGED: 'CONSENT_CHANGED',
} as const;
const purposes = {
  MARKETING: 'MARKETING',
  ANALYTICS: 'ANALYTICS',
  THIRD_PARTY_SHARING: 'THIRD_PARTY_SHARING',
} as const;
const channels = { SMS: 'SMS', EMAIL: 'EMAIL', APP_PUSH: 'APP_PUSH', PHONE: 'PHONE' } as const;

export function mapWebApp(message: SourceMessage): CanonicalChange[] {
  const e = parseJsonEvent(message.value);
  if (e === null) return [];
  // The event id is the idempotency id of a change event: one without it cannot be told from a retry.
  const eventId = requiredText(e, 'eventId');
  const userId = requiredText(e, 'userId');
  const at = isoInstant(e, 'at') as Date;
  const version = { sourceVersion: versionOfInstant(at), sourceTime: at };
  const type = code(e, 'type', types);
  if (type === null) throw new MappingError('MISSING_FIELD', 'type is required');
  const party = { system: 'web-app', sourceId: userId };
  if (type === 'CONSENT_CHANGED') {
    const consent = objectField(e, 'consent');
    if (!consent) throw new MappingError('MISSING_FIELD', 'consent is required for CONSENT_CHANGED');
    const purpose = code(consent, 'purpose', purposes);
    const channel = code(consent, 'channel', channels);
    if (purpose === null || channel === null)
      throw new MappingError('MISSING_FIELD', 'consent.purpose and consent.channel are required');
    if (typeof consent.granted !== 'boolean')
      throw new MappingError('INVALID_VALUE', 'consent.granted must be true or false');
    return [
      {
        entity: 'activity',
        op: 'upsert',
        kind: 'CONSENT',
        system: 'web-app',
        sourceKey: `${userId}:${purpose}:${channel}`,
        ...version,
        data: {
          party,
          callerPhoneKey: null,
          policyNo: null,
          occurredAt: at,
          type: purpose,
          status: consent.granted ? 'GRANTED' : 'WITHDRAWN',
          amount: null,
          details: { channel, eventId },
        },
      },
    ];
  }
  const verified = type === 'REAL_NAME_VERIFIED';
  const changes: CanonicalChange[] = [
    {
      entity: 'party',
      op: 'upsert',
      system: 'web-app',
      sourceId: userId,
      raw: e,
      eventId,
      ...version,
      attributes: personAttributes({
        name: text(e, 'name'),
        idType: verified ? '01' : null,
        idNumber: verified ? text(e, 'idNumber') : null,
        mobile: text(e, 'mobile'),
        email: text(e, 'email'),
      }),
    },
  ];
  if (type === 'REGISTERED') {
    changes.push({
      entity: 'activity',
      op: 'upsert',
      kind: 'REGISTRATION',
      system: 'web-app',
      sourceKey: userId,
      ...version,
      data: {
        party,
        callerPhoneKey: null,
        policyNo: null,
        occurredAt: at,
        type: 'APP',
        status: 'REGISTERED',
        amount: null,
        details: { eventId },
      },
    });
  }
  return changes;
}

export const webAppConnector: Connector = { manifest: webAppManifest, map: mapWebApp };
