import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { resolvers } from './index.ts';
import { applySensitiveDirective } from './sensitive-directive.ts';
import { buildFederatedSchema } from './federation.ts';

const schemaDir = fileURLToPath(new URL('../../schema', import.meta.url));

/** The SDL split by domain under schema/ (base.graphql first), with resolvers and the masking directive. */
export function loadTypeDefs(): string[] {
  const files = readdirSync(schemaDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  return files.map((f) => readFileSync(join(schemaDir, f), 'utf8'));
}

/** The hub's schema; with `federation`, the same schema as an Apollo Federation 2 subgraph (federation.ts). */
export function buildSchema(opts: { federation?: boolean } = {}): GraphQLSchema {
  const executable = opts.federation
    ? buildFederatedSchema(loadTypeDefs(), resolvers)
    : makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers });
  return applySensitiveDirective(executable);
}
