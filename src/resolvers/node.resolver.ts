import type { Operation } from '../auth/access-policy.ts';
import type { NodeResolvers, QueryResolvers } from '../generated/graphql.ts';
import type { NodeType } from '../services/node.service.ts';
import type { GraphQLContext } from './context.ts';
import { requireAccess } from './guard.ts';

/**
 * `Query.node(id)`: the object with this id, fetched and checked as the type's own query does it — a channel
 * app asking for an alert gets FORBIDDEN as from `alerts`, and masking applies field by field as everywhere
 * (the @sensitive directive). Which type an object is comes from the lookup, remembered per object.
 */
const accessFor: Record<NodeType, Operation> = {
  Customer: 'readCustomers',
  Policy: 'readCustomers',
  Alert: 'readRisk',
  BlacklistEntry: 'readRisk',
  ReviewTask: 'steward',
};

const fetchers: Record<NodeType, (id: string, ctx: GraphQLContext) => Promise<object | null>> = {
  Customer: (id, ctx) => ctx.customers.byId(id),
  Policy: (id, ctx) => ctx.customers.policyById(id),
  Alert: (id, ctx) => ctx.risk.alert(id),
  BlacklistEntry: (id, ctx) => ctx.risk.entry(id),
  ReviewTask: (id, ctx) => ctx.stewardship.task(id),
};

const typeOfNode = new WeakMap<object, NodeType>();

export const nodeQueries: QueryResolvers = {
  node: async (_root, { id }, ctx) => {
    const type = await ctx.nodes.typeOf(id);
    if (type === null) return null;
    requireAccess(ctx, accessFor[type]);
    const node = await fetchers[type](id, ctx);
    if (node === null) return null;
    typeOfNode.set(node, type);
    return node as never;
  },
};

export const Node: NodeResolvers = {
  __resolveType: (obj) => {
    const type = typeOfNode.get(obj);
    if (!type) throw new Error('a Node that Query.node did not resolve');
    return type;
  },
};
