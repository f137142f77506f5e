import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, requiredText, text } from '../framework/fields.ts';
import { isoInstant, parseJsonEvent, versionOfInstant } from '../framework/json-event.ts';
import { personAttributes } from '../framework/party-builder.ts';
import { parseLooseDate } from '../../domain/normalize/index.ts';

/**
 * agency-crm — prospects (潜在客户) typed in by agents (contract §5): names in traditional characters or pinyin,
 * birth dates in loose formats, referrals by existing clients. Each lead is an `agency-crm` source record
 * (identity resolution links a prospect who is already a customer) and a LEAD activity; every update re-sends
 * the whole lead, versioned by `updatedAt`.
 */
export const agencyCrmManifest: ConnectorManifest = {
  id: 'agency-crm',
  version: '1.0.0',
  sourceSystem: 'agency-crm',
  topics: ['agency.leads.v1'],
  keyFormat: 'string',
  valueFormat: 'json',
  // Every update re-sends the whole lead (contract §5): an empty field is empty.
  messages: 'records',
  description: "Agents' CRM: leads, referrals and conversions.",
};

const genders = { M: 'M', F: 'F', U: 'U', 男: 'M', 女: 'F' } as const;
const sources = { REFERRAL: 'REFERRAL', EVENT: 'EVENT', COLD_CALL: 'COLD_CALL', ONLINE: 'ONLINE' } as const;
const statuses = {
  NEW: 'NEW',
  CONTACTED: 'CONTACTED',
  QUOTED: 'QUOTED',
  CONVERTED: 'CONVERTED',
  LOST: 'LOST',
} as const;

export function mapAgencyCrm(message: SourceMessage): CanonicalChange[] {
  const e = parseJsonEvent(message.value);
  if (e === null) return [];
  const leadId = requiredText(e, 'leadId');
  const updatedAt = isoInstant(e, 'updatedAt') as Date;
  const version = { sourceVersion: versionOfInstant(updatedAt), sourceTime: updatedAt };
  const rawBirth = text(e, 'birthDate');
  const birthDate = parseLooseDate(rawBirth);
  if (rawBirth !== null && birthDate === null)
    throw new MappingError('INVALID_VALUE', `birthDate is not a date (got ${JSON.stringify(rawBirth)})`);
  const interests = Array.isArray(e.interests) ? e.interests.filter((x): x is string => typeof x === 'string') : [];
  return [
    {
      entity: 'party',
      op: 'upsert',
      system: 'agency-crm',
      sourceId: leadId,
      raw: e,
      ...version,
      attributes: personAttributes({
        name: text(e, 'name'),
        mobile: text(e, 'mobile'),
        birthDate,
        sex: code(e, 'gender', genders),
        address: text(e, 'city'),
      }),
    },
    {
      entity: 'activity',
      op: 'upsert',
      kind: 'LEAD',
      system: 'agency-crm',
      sourceKey: leadId,
      ...version,
      data: {
        party: { system: 'agency-crm', sourceId: leadId },
        callerPhoneKey: null,
        policyNo: text(e, 'convertedPolicyNo'),
        occurredAt: isoInstant(e, 'createdAt', false) ?? updatedAt,
        type: code(e, 'source', sources),
        status: code(e, 'status', statuses),
        amount: null,
        details: {
          agentCode: text(e, 'agentCode'),
          referredByClientNo: text(e, 'referredByClientNo'),
          interests,
          city: text(e, 'city'),
        },
      },
    },
  ];
}

export const agencyCrmConnector: Connector = { manifest: agencyCrmManifest, map: mapAgencyCrm };
