import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, decimal, requiredText, text } from '../framework/fields.ts';
import { parseJsonEvent } from '../framework/json-event.ts';
import { documentSourceId, personAttributes } from '../framework/party-builder.ts';
import { fromYyyymmddInt } from '../../domain/normalize/index.ts';

/**
 * bancassurance — partner banks' daily sales files (contract §6): GBK-encoded CSV with a Chinese header, one
 * file per bank per day, delivered as a file (`npm run hub -- import bancassurance FILE`). Each row is handed to
 * this mapping as a JSON object keyed by the header. Rows with obvious errors (empty or 17-digit id number,
 * amount `N/A`) are rejected with the reason and their line number; the good rows load.
 */
export const bancassuranceManifest: ConnectorManifest = {
  id: 'bancassurance',
  version: '1.0.0',
  sourceSystem: 'bancassurance',
  topics: ['bancassurance.sales.file'],
  keyFormat: 'string',
  valueFormat: 'json',
  // Each row states the policyholder whole as the bank sold the policy.
  messages: 'records',
  description:
    "Partner banks' daily sales files (GBK CSV): new business and cooling-off cancellations at bank branches.",
};

export const bancassuranceColumns = [
  '银行代码',
  '网点代码',
  '保单号',
  '投保人姓名',
  '证件类型',
  '证件号码',
  '手机号码',
  '缴费账号',
  '保费',
  '交易日期',
  '交易类型',
] as const;
const txnTypes = { NB: 'NEW_BUSINESS', CT: 'COOLING_OFF_CANCELLATION' } as const;

export function mapBancassurance(message: SourceMessage): CanonicalChange[] {
  const row = parseJsonEvent(message.value);
  if (row === null) return [];
  const bank = requiredText(row, '银行代码');
  const policyNo = requiredText(row, '保单号');
  const txn = code(row, '交易类型', txnTypes);
  if (txn === null) throw new MappingError('MISSING_FIELD', '交易类型 is required (NB or CT)');
  const date = fromYyyymmddInt(text(row, '交易日期'));
  if (date === null)
    throw new MappingError(
      'INVALID_VALUE',
      `交易日期 must be a YYYYMMDD date (got ${JSON.stringify(row['交易日期'] ?? null)})`,
    );
  const premium = decimal(row, '保费');
  if (premium === null) throw new MappingError('MISSING_FIELD', '保费 is required');
  const idType = text(row, '证件类型');
  const idNumber = text(row, '证件号码');
  if (idNumber === null) throw new MappingError('MISSING_FIELD', '证件号码 is empty');
  const attributes = personAttributes({
    name: text(row, '投保人姓名'),
    idType,
    idNumber,
    mobile: text(row, '手机号码'),
  });
  const id = attributes.identifiers[0];
  if (id && !id.valid && id.issues.includes('BAD_LENGTH'))
    throw new MappingError('INVALID_VALUE', `证件号码 has the wrong length (${idNumber.length} characters)`);
  const sourceId = documentSourceId(idType, idNumber, null) as string;
  const occurredAt = new Date(`${date}T00:00:00+08:00`);
  // A day's file states that day's facts: its date is the version, so the same file delivered twice is a no-op.
  const version = { sourceVersion: (BigInt(occurredAt.getTime()) * 1000n).toString(), sourceTime: occurredAt };
  return [
    { entity: 'party', op: 'upsert', system: 'bancassurance', sourceId, raw: row, attributes, ...version },
    {
      entity: 'activity',
      op: 'upsert',
      kind: 'BANK_SALE',
      system: 'bancassurance',
      sourceKey: `${bank}:${policyNo}:${txn}`,
      ...version,
      data: {
        party: { system: 'bancassurance', sourceId },
        callerPhoneKey: null,
        policyNo,
        occurredAt,
        type: txn,
        status: txn === 'NEW_BUSINESS' ? 'SOLD' : 'CANCELLED',
        amount: premium,
        details: { bankCode: bank, branchCode: text(row, '网点代码'), payingAccount: text(row, '缴费账号') },
      },
    },
  ];
}

export const bancassuranceConnector: Connector = { manifest: bancassuranceManifest, map: mapBancassurance };
