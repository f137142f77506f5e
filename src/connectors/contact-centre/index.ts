import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, integer, requiredText, text } from '../framework/fields.ts';
import { isoInstant, objectField, parseJsonEvent, versionOfInstant } from '../framework/json-event.ts';
import { phoneSearchKey } from '../../domain/normalize/index.ts';

/**
 * contact-centre — call centre interactions (contract §4): inbound/outbound calls, complaints, follow-up calls
 * (回访) with outcome and satisfaction. The customer is the core client when the agent identified the caller
 * (`clientNo`), otherwise the caller's number, matched against the golden records' phones at read time.
 */
export const contactCentreManifest: ConnectorManifest = {
  id: 'contact-centre',
  version: '1.0.0',
  sourceSystem: 'contact-centre',
  topics: ['contact.interactions.v1'],
  keyFormat: 'string',
  valueFormat: 'json',
  // No customer record of its own (calls point at the core client or the caller's number): nothing to fold.
  messages: 'records',
  description: 'Call centre: calls, complaints and follow-up calls with outcome and satisfaction.',
};

const types = {
  INBOUND_CALL: 'INBOUND_CALL',
  OUTBOUND_CALL: 'OUTBOUND_CALL',
  COMPLAINT: 'COMPLAINT',
  FOLLOW_UP: 'FOLLOW_UP',
  SURVEY: 'SURVEY',
} as const;
const subtypes = {
  NEW_POLICY: 'NEW_POLICY',
  LAPSED_POLICY: 'LAPSED_POLICY',
  BENEFIT_PAYMENT: 'BENEFIT_PAYMENT',
  DEPARTED_AGENT: 'DEPARTED_AGENT',
} as const;
const outcomes = {
  REACHED: 'REACHED',
  NO_ANSWER: 'NO_ANSWER',
  REFUSED: 'REFUSED',
  RESOLVED: 'RESOLVED',
  ESCALATED: 'ESCALATED',
} as const;
const complaintStatuses = {
  OPEN: 'OPEN',
  IN_PROGRESS: 'IN_PROGRESS',
  RESOLVED: 'RESOLVED',
  REOPENED: 'REOPENED',
} as const;

export function mapContactCentre(message: SourceMessage): CanonicalChange[] {
  const e = parseJsonEvent(message.value);
  if (e === null) return [];
  const interactionId = requiredText(e, 'interactionId');
  const at = isoInstant(e, 'at') as Date;
  const satisfaction = integer(e, 'satisfaction');
  if (satisfaction !== null && (satisfaction < 1 || satisfaction > 5))
    throw new MappingError('INVALID_VALUE', `satisfaction must be 1–5 (got ${satisfaction})`);
  const complaint = objectField(e, 'complaint');
  const clientNo = text(e, 'clientNo');
  const caller = text(e, 'callerNumber');
  const type = code(e, 'type', types);
  if (type === null) throw new MappingError('MISSING_FIELD', 'type is required');
  return [
    {
      entity: 'activity',
      op: 'upsert',
      kind: 'INTERACTION',
      system: 'contact-centre',
      sourceKey: interactionId,
      sourceVersion: versionOfInstant(at),
      sourceTime: at,
      data: {
        party: clientNo ? { system: 'core-policy', sourceId: clientNo } : null,
        callerPhoneKey: caller ? phoneSearchKey(caller) : null,
        policyNo: text(e, 'policyNo'),
        occurredAt: at,
        type,
        status: complaint ? code(complaint, 'status', complaintStatuses) : code(e, 'outcome', outcomes),
        amount: null,
        details: {
          subtype: code(e, 'subtype', subtypes),
          outcome: code(e, 'outcome', outcomes),
          satisfaction,
          agentId: text(e, 'agentId'),
          summary: text(e, 'summary'),
          callerNumber: caller,
          complaintCategory: complaint ? text(complaint, 'category') : null,
          complaintStatus: complaint ? code(complaint, 'status', complaintStatuses) : null,
        },
      },
    },
  ];
}

export const contactCentreConnector: Connector = { manifest: contactCentreManifest, map: mapContactCentre };
