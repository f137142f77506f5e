import type { ConnectorManifest } from '../framework/connector.ts';

export const corePolicyTopics = {
  client: 'corepol.LIFEDB.CLIENT',
  policy: 'corepol.LIFEDB.CHDR',
  role: 'corepol.LIFEDB.CLRR',
  cover: 'corepol.LIFEDB.COVR',
} as const;

export const corePolicyManifest: ConnectorManifest = {
  id: 'core-policy',
  version: '1.0.0',
  sourceSystem: 'core-policy',
  topics: Object.values(corePolicyTopics),
  keyFormat: 'debezium-json',
  valueFormat: 'debezium-json',
  // Debezium CDC: every message is the whole CLIENT row after the change.
  messages: 'records',
  description:
    'Legacy life/health policy administration (LIFEDB) through Debezium CDC: clients, policy headers, client roles and covers.',
};
