import { createHash } from 'node:crypto';
import type { PartyAttributes } from '../domain/canonical.ts';
import { stableJson } from '../domain/stable-json.ts';

/**
 * The order of source records where nothing the source says tells them apart (equal source times or versions).
 * It must not be arrival: the generated record id, or which of two equal versions came first, differs between
 * two hub instances (or two runs) that read the same messages with partitions interleaved differently, and then
 * they reach different survivors. It is the content instead — a hash of the record's attributes (so no source
 * system or id range is favoured), then its source key, which two live records never share.
 */
const hashes = new WeakMap<object, string>();

/** A stable hash of a record's attributes (canonical JSON), worked out once per attributes object. */
export function contentHash(attributes: PartyAttributes | null): string {
  if (attributes === null) return '';
  let h = hashes.get(attributes);
  if (h === undefined) {
    // Through JSON first: an attributes object as mapped (undefined fields) and as read back from jsonb hash alike.
    h = createHash('sha1')
      .update(stableJson(JSON.parse(JSON.stringify(attributes))))
      .digest('hex');
    hashes.set(attributes, h);
  }
  return h;
}

export type OrderedRecord = { system: string; sourceId: string; attributes: PartyAttributes | null };

/** Total order of records on content, then source key: negative when `a` comes first. */
export function compareRecords(a: OrderedRecord, b: OrderedRecord): number {
  const ha = contentHash(a.attributes);
  const hb = contentHash(b.attributes);
  if (ha !== hb) return ha < hb ? -1 : 1;
  const ka = `${a.system}/${a.sourceId}`;
  const kb = `${b.system}/${b.sourceId}`;
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}

/**
 * Whether a version of a record replaces the stored one of the SAME version: only when its content orders
 * after the stored content, so that of two different payloads with one version the same one is kept whatever
 * order they arrive in (and an exact repeat changes nothing).
 */
export function equalVersionReplaces(stored: PartyAttributes | null, incoming: PartyAttributes | null): boolean {
  return contentHash(incoming) > contentHash(stored);
}
