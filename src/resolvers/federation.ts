import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { type GraphQLSchema, parse } from 'graphql';
import type { Resolvers } from '../generated/graphql.ts';
import type { GraphQLContext } from './context.ts';
import { requireAccess } from './guard.ts';

/**
 * The hub as an Apollo Federation 2 subgraph (HUB_FEDERATION=1): the same SDL, resolvers and masking, built
 * with `buildSubgraphSchema`, with `Customer` an entity keyed by its id. A router resolves a customer another
 * subgraph names through `_entities` → `Customer.__resolveReference`, which checks roles as `customer(id:)` does;
 * the fields are masked by the same @sensitive wrapping as in the hub's own schema (src/resolvers/schema.ts).
 */
const federationLink = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])`;
const customerType = 'type Customer implements Node {';

export function subgraphTypeDefs(typeDefs: string[]): string {
  const sdl = typeDefs.join('\n');
  if (!sdl.includes(customerType)) throw new Error(`schema/: "${customerType}" not found; cannot mark its @key`);
  return `${federationLink}\n${sdl.replace(customerType, 'type Customer implements Node @key(fields: "id") {')}`;
}

export function buildFederatedSchema(typeDefs: string[], resolvers: Resolvers): GraphQLSchema {
  const customer = {
    ...resolvers.Customer,
    __resolveReference: (reference: { id: string }, ctx: GraphQLContext) => {
      requireAccess(ctx, 'readCustomers');
      return ctx.customers.byId(reference.id);
    },
  };
  return buildSubgraphSchema([
    {
      typeDefs: parse(subgraphTypeDefs(typeDefs)),
      resolvers: { ...resolvers, Customer: customer } as unknown as GraphQLResolverMap<GraphQLContext>,
    },
  ]);
}
