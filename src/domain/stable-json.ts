/**
 * JSON with object keys in sorted order, so that two values that are equal as data print the same: used to
 * compare golden-record lineage (survivorship) and alert evidence (risk) regardless of the key order a
 * source, the database or a JSON round trip produced.
 */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
