import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('configuration from the environment', () => {
  it('has defaults for a newcomer', () => {
    expect(loadConfig({})).toMatchObject({
      databaseUrl: undefined,
      port: 4000,
      host: '127.0.0.1',
      kafkaBrokers: undefined,
      dataDir: '.data',
      logLevel: 'info',
    });
  });
  it('switches connectors to the schema-registry wire format only with a registry', () => {
    expect(
      loadConfig({ AVRO_CONNECTORS: 'billing, claims', SCHEMA_REGISTRY_URL: 'http://registry:8081' }),
    ).toMatchObject({ avroConnectors: ['billing', 'claims'], schemaRegistryUrl: 'http://registry:8081' });
    expect(() => loadConfig({ AVRO_CONNECTORS: 'billing' })).toThrow(/AVRO_CONNECTORS: needs SCHEMA_REGISTRY_URL/);
  });
  it('serves a federation subgraph only when asked, and never with trusted documents', () => {
    expect(loadConfig({}).federation).toBe(false);
    expect(loadConfig({ HUB_FEDERATION: '1' }).federation).toBe(true);
    expect(() => loadConfig({ HUB_FEDERATION: '1', HUB_TRUSTED_DOCUMENTS: 'docs.json' })).toThrow(
      /HUB_TRUSTED_DOCUMENTS: not with HUB_FEDERATION=1/,
    );
  });
  it('treats empty strings as unset and parses lists', () => {
    expect(loadConfig({ DATABASE_URL: '', KAFKA_BROKERS: 'a:9092, b:9093' })).toMatchObject({
      databaseUrl: undefined,
      kafkaBrokers: ['a:9092', 'b:9093'],
    });
  });
  it.each([
    ['PORT', 'abc'],
    ['KAFKA_BROKERS', 'nohost'],
    ['HUB_JWT_SECRET', 'short'],
    ['DATABASE_URL', 'not a url'],
    ['LOG_LEVEL', 'verbose'],
    ['KAFKA_TOPIC_PREFIX', 'bad prefix!'],
  ])('names %s when its value %s is bad', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`${name}: .*\\(got "${value.replace(/[!]/g, '\\$&')}"\\)`),
    );
  });
  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: '-1', LOG_LEVEL: 'loud' });
      throw new Error('no error');
    } catch (e) {
      expect((e as Error).message).toMatch(/PORT/);
      expect((e as Error).message).toMatch(/LOG_LEVEL/);
    }
  });
});
