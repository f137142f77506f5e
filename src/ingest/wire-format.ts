import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SourceMessage } from '../connectors/framework/connector.ts';

/**
 * Wire formats in front of the connectors' mappings. Most sources send JSON (Debezium with or without schemas,
 * plain events), which the mappings read directly. A connector can instead be switched to the Confluent
 * schema-registry wire format (magic byte 0, 4-byte schema id, Avro body) per deployment — `AVRO_CONNECTORS`
 * with `SCHEMA_REGISTRY_URL` — and its messages are decoded here, through `@kafkajs/confluent-schema-registry`,
 * into the same JSON shapes, so the mapping, fixtures and conformance suite stay the same. A message that does
 * not decode (not the wire format, unknown schema id, corrupt body) is marked and quarantined with the reason,
 * like any bad record; a registry that cannot be reached is a transient failure and is retried.
 */
export type WireFormat = { decode(connectorId: string, messages: SourceMessage[]): Promise<SourceMessage[]> };

export const plainFormat: WireFormat = { decode: async (_connectorId, messages) => messages };

export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError';
}

export function confluentAvroFormat(registryUrl: string, connectorIds: readonly string[]): WireFormat {
  const registry = new SchemaRegistry({ host: registryUrl });
  const avro = new Set(connectorIds);
  const decodeOne = async (buf: Buffer | null): Promise<Buffer | null> => {
    if (buf === null) return null; // tombstones stay tombstones
    if (buf.length < 5 || buf[0] !== 0)
      throw new Error(`not the schema-registry wire format (first byte ${buf[0] ?? 'none'}, ${buf.length} bytes)`);
    return Buffer.from(JSON.stringify(await registry.decode(buf), bigIntSafe));
  };
  return {
    async decode(connectorId, messages) {
      if (!avro.has(connectorId)) return messages;
      return Promise.all(
        messages.map(async (m) => {
          try {
            // Keys are decoded when they are in the wire format too (Debezium with the Avro converter); plain keys stay.
            const key = m.key !== null && m.key.length >= 5 && m.key[0] === 0 ? await decodeOne(m.key) : m.key;
            return { ...m, key, value: await decodeOne(m.value) };
          } catch (e) {
            if (isUnreachable(e))
              throw new RegistryUnavailableError(`schema registry ${registryUrl} unavailable: ${(e as Error).message}`);
            return {
              ...m,
              undecodable: `Avro (schema-registry wire format) could not be decoded: ${(e as Error).message}`,
            };
          }
        }),
      );
    },
  };
}

function isUnreachable(e: unknown): boolean {
  const text = `${(e as { code?: string }).code ?? ''} ${(e as Error).message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|socket hang up|fetch failed|status: 5\d\d/i.test(text);
}

/** Avro longs beyond 2^53 may come back as bigint; JSON carries them as decimal strings. */
function bigIntSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
