import type { CanonicalChange } from '../../domain/canonical.ts';

/**
 * A connector is data plus one pure function: its manifest says what it consumes, `map` turns one source
 * message into canonical changes (or throws a MappingError). Connectors never write to the database; the
 * ingest runtime (src/ingest) owns offsets, transactions and quarantine, so adding a connector never edits
 * the engine.
 */
export type ConnectorManifest = {
  /** Stable connector id, used in offsets, quarantine rows and metrics. */
  id: string;
  version: string;
  /** Source system name stored on every source record (`system` in GraphQL). */
  sourceSystem: string;
  /** Kafka topics (before any deployment-wide prefix). */
  topics: readonly string[];
  keyFormat: 'debezium-json' | 'string';
  valueFormat: 'debezium-json' | 'json';
  /**
   * What one message says about the customer it names (docs/connectors.md, "Whole records or changes"):
   * - 'records' (the default): the whole record as the source holds it now (a CDC row, a lead re-sent whole, a
   *   payer as billed); it replaces what the hub held, and a field it leaves empty is empty;
   * - 'changes': only what changed (an app's PROFILE_UPDATED): a field it leaves out or sends as null is
   *   unchanged, and the record is the fold of its events in source-version order, whatever order they arrive in.
   */
  messages?: 'records' | 'changes';
  description: string;
};

/** One message as it came off a topic or out of a batch file. */
export type SourceMessage = {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string | null;
  /** Set when the wire format could not be decoded (src/ingest/wire-format.ts): the message is quarantined. */
  undecodable?: string;
};

/**
 * A message given as texts — a batch file's line, a generated population, a test fixture — as the connectors read
 * one off a topic: partition 0 (a file or a generated stream is one ordered stream), no broker timestamp.
 */
export function textMessage(
  topic: string,
  offset: number | string,
  key: string | null,
  value: string | null,
): SourceMessage {
  return {
    topic,
    partition: 0,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp: null,
  };
}

export type Connector = {
  manifest: ConnectorManifest;
  /** Returns the changes the message implies; an empty list means "nothing to do" (e.g. a tombstone). */
  map(message: SourceMessage): CanonicalChange[];
};

/**
 * Maps one message with the manifest's semantics attached: the party changes of a connector whose messages carry
 * only what changed are marked so, and the sync step folds them into the record instead of replacing it.
 */
export function mapWithManifest(connector: Connector, message: SourceMessage): CanonicalChange[] {
  const changes = connector.map(message);
  if (connector.manifest.messages !== 'changes') return changes;
  return changes.map((c) => (c.entity === 'party' ? { ...c, carries: 'changes' as const } : c));
}
