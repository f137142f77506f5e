/**
 * Why a source message could not be mapped. The code set is shared by all connectors so that quarantine and
 * dead-letter handling, metrics and alerts treat every source alike; the message says what to fix.
 */
export type MappingErrorCode =
  | 'UNPARSEABLE' // not valid JSON / not decodable
  | 'EMPTY_VALUE' // a zero-byte value: not a tombstone (a tombstone's value is null), a broken producer
  | 'TOO_LARGE' // a value over the configured maximum size (HUB_MAX_MESSAGE_BYTES)
  | 'INVALID_ENVELOPE' // JSON, but not the envelope the connector expects
  | 'MISSING_FIELD' // a required field (key column, id) is absent or empty
  | 'INVALID_VALUE' // a field has a value of the wrong shape (bad date, non-numeric amount)
  | 'UNKNOWN_CODE' // a code outside the contract's code list
  | 'UNSUPPORTED_OPERATION' // e.g. Debezium truncate
  | 'UNKNOWN_TOPIC';

export class MappingError extends Error {
  override name = 'MappingError';
  readonly code: MappingErrorCode;
  constructor(code: MappingErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
