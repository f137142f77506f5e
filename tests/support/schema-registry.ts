import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal stand-in for a Confluent-compatible schema registry — only the REST calls the
 * `@kafkajs/confluent-schema-registry` client makes to register a schema and to fetch one by id. No registry
 * server can be installed on these machines from the project's sources (Confluent's is not on Maven Central);
 * Kafka, PostgreSQL and the Avro encoding and decoding in the tests are the real ones. In production
 * `SCHEMA_REGISTRY_URL` points at the real registry.
 */
export type StandInRegistry = { url: string; stop(): Promise<void> };

export async function startStandInRegistry(): Promise<StandInRegistry> {
  const schemas: { schema: string; schemaType?: string }[] = [];
  const subjects = new Map<string, number[]>();
  const config = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify(payload));
      };
      const url = new URL(req.url ?? '/', 'http://registry');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (req.method === 'GET' && parts[0] === 'schemas' && parts[1] === 'ids') {
        const found = schemas[Number(parts[2]) - 1];
        return found ? send(200, found) : send(404, { error_code: 40403, message: 'Schema not found' });
      }
      if (parts[0] === 'config' && parts[1]) {
        if (req.method === 'PUT') {
          const level = (JSON.parse(body || '{}') as { compatibility?: string }).compatibility ?? 'BACKWARD';
          config.set(parts[1], level);
          return send(200, { compatibility: level });
        }
        const level = config.get(parts[1]);
        return level
          ? send(200, { compatibilityLevel: level })
          : send(404, { error_code: 40401, message: 'Subject not found' });
      }
      if (req.method === 'POST' && parts[0] === 'subjects' && parts[2] === 'versions' && parts[1]) {
        const { schema, schemaType } = JSON.parse(body) as { schema: string; schemaType?: string };
        let id = schemas.findIndex((s) => s.schema === schema) + 1;
        if (id === 0) id = schemas.push(schemaType ? { schema, schemaType } : { schema });
        subjects.set(parts[1], [...new Set([...(subjects.get(parts[1]) ?? []), id])]);
        return send(200, { id });
      }
      return send(404, { error_code: 404, message: `not supported by the stand-in: ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
