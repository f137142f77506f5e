import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run hub -- connector new NAME`: creates src/connectors/NAME with a manifest, a runnable JSON-event
 * mapping to adapt, conformance fixtures, and registers it. docs/connectors.md walks through the rest.
 */
const camel = (id: string) => id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function scaffoldConnector(id: string, root: string): string[] {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(id))
    throw new Error(`connector name must be kebab-case (e.g. "group-pension"), got "${id}"`);
  const dir = join(root, 'src/connectors', id);
  if (existsSync(dir)) throw new Error(`src/connectors/${id} already exists`);
  const name = camel(id);
  const topic = `${id}.customer-events.v1`;
  mkdirSync(join(dir, 'fixtures'), { recursive: true });
  writeFileSync(
    join(dir, 'index.ts'),
    `import type { CanonicalChange } from '../../domain/canonical.ts';
import type { Connector, ConnectorManifest, SourceMessage } from '../framework/connector.ts';
import { MappingError } from '../framework/errors.ts';
import { code, decimal, requiredText, text } from '../framework/fields.ts';
import { isoInstant, parseJsonEvent, versionOfInstant } from '../framework/json-event.ts';
import { documentSourceId, personAttributes } from '../framework/party-builder.ts';

/**
 * ${id} — describe the source system and link its contract here. This template maps a plain JSON event
 * {"eventId","type","at","customerId","name","idType","idNumber","mobile","email","policyNo","amount"}:
 * replace the field names and codes with the source's own (docs/connectors.md, step 2).
 */
export const ${name}Manifest: ConnectorManifest = {
  id: '${id}',
  version: '0.1.0',
  sourceSystem: '${id}',
  topics: ['${topic}'],
  keyFormat: 'string',
  valueFormat: 'json',
  // 'records' when each message carries the customer whole, 'changes' when only what changed (docs/connectors.md).
  messages: 'records',
  description: 'TODO: what this source system is and what it sends.',
};

const eventTypes = { CREATED: 'CREATED', UPDATED: 'UPDATED', PAYMENT: 'PAYMENT' } as const;

export function map${name[0]?.toUpperCase()}${name.slice(1)}(message: SourceMessage): CanonicalChange[] {
  const e = parseJsonEvent(message.value);
  if (e === null) return []; // tombstone
  const customerId = requiredText(e, 'customerId');
  const at = isoInstant(e, 'at') as Date;
  const version = { sourceVersion: versionOfInstant(at), sourceTime: at };
  const type = code(e, 'type', eventTypes);
  if (type === null) throw new MappingError('MISSING_FIELD', 'type is required');
  const changes: CanonicalChange[] = [
    {
      entity: 'party', op: 'upsert', system: '${id}', sourceId: customerId, raw: e, ...version,
      attributes: personAttributes({ name: text(e, 'name'), idType: text(e, 'idType'), idNumber: text(e, 'idNumber'), mobile: text(e, 'mobile'), email: text(e, 'email') }),
    },
  ];
  if (type === 'PAYMENT') {
    changes.push({
      entity: 'activity', op: 'upsert', kind: 'PAYMENT', system: '${id}', sourceKey: requiredText(e, 'eventId'), ...version,
      data: { party: { system: '${id}', sourceId: customerId }, callerPhoneKey: null, policyNo: text(e, 'policyNo'), occurredAt: at, type, status: null, amount: decimal(e, 'amount'), details: {} },
    });
  }
  void documentSourceId; // use it when the source identifies people only by id document
  return changes;
}

export const ${name}Connector: Connector = { manifest: ${name}Manifest, map: map${name[0]?.toUpperCase()}${name.slice(1)} };
`,
  );
  writeFileSync(
    join(dir, 'fixtures/conformance.ts'),
    `import type { ConformanceFixtures } from '../../framework/conformance.ts';

// Replace with real messages from the source (anonymised) and the changes they must produce.
const event = (over: Record<string, unknown>) => JSON.stringify({ eventId: 'E1', type: 'CREATED', at: '2026-11-01T09:00:00+08:00', customerId: 'CUST1', name: '李娜', idType: '03', idNumber: 'E12345678', mobile: '13700137000', email: null, policyNo: null, amount: null, ...over });

export const conformance: ConformanceFixtures = {
  valid: [
    { name: 'customer created', message: { topic: '${topic}', key: 'CUST1', value: event({}) }, expected: [{ entity: 'party', op: 'upsert', system: '${id}', sourceId: 'CUST1', attributes: { nameKey: '李娜' } }] },
  ],
  invalid: [
    { name: 'unknown type', message: { topic: '${topic}', key: 'CUST2', value: event({ customerId: 'CUST2', type: 'MERGED' }) }, code: 'UNKNOWN_CODE' },
  ],
};
`,
  );
  const registry = join(root, 'src/connectors/registry.ts');
  const source = readFileSync(registry, 'utf8');
  if (!source.includes('// scaffold: imports') || !source.includes('// scaffold: connectors'))
    throw new Error('src/connectors/registry.ts lost its scaffold markers; register the connector by hand');
  writeFileSync(
    registry,
    source
      .replace('// scaffold: imports', `import { ${name}Connector } from './${id}/index.ts';\n// scaffold: imports`)
      .replace('  // scaffold: connectors', `  ${name}Connector,\n  // scaffold: connectors`),
  );
  return [
    `src/connectors/${id}/index.ts`,
    `src/connectors/${id}/fixtures/conformance.ts`,
    'src/connectors/registry.ts (registered)',
  ];
}
