import {
  type FieldNode,
  type GraphQLField,
  type GraphQLResolveInfo,
  Kind,
  print,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { CustomerPlan, PolicyPageArgs, PolicyPagePlan } from '../services/customer.service.ts';

/**
 * What a query goes on to ask of the customers a field returns, read from the field's selection set (fragments
 * included), so that the customer service reads it with the customers in one statement (`CustomerPlan`). A plan
 * only reads ahead: a field it did not foresee — or one under `@skip`, which it reads anyway — is answered by
 * its loader as before, so the answer is the same either way.
 * Only AST walking here, no graphql-js type checks: under vitest the resolvers and Apollo load graphql-js from two
 * module realms, and its `instanceof` checks refuse a schema type of the other realm.
 */
function collect(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, out: FieldNode[]): void {
  for (const s of selectionSet?.selections ?? []) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) collect(s.selectionSet, info, out);
    else collect(info.fragments[s.name.value]?.selectionSet, info, out);
  }
}

/** The fields named `name` directly under `nodes` (through fragments). */
function children(nodes: readonly FieldNode[], name: string, info: GraphQLResolveInfo): FieldNode[] {
  const all: FieldNode[] = [];
  for (const n of nodes) collect(n.selectionSet, info, all);
  return all.filter((f) => f.name.value === name);
}

/** Under a `policies` connection: does any edge's node ask for its covers, its participants? */
function policyPagePlan(connections: readonly FieldNode[], info: GraphQLResolveInfo): PolicyPagePlan {
  const policies = children(children(connections, 'edges', info), 'node', info);
  return {
    covers: children(policies, 'covers', info).length > 0,
    participants: children(policies, 'participants', info).length > 0,
  };
}

/** The plan for customers returned by the field(s) `customers` (e.g. `customer(id:)`'s field nodes). */
export function customerPlan(customers: readonly FieldNode[], info: GraphQLResolveInfo): CustomerPlan {
  const policies = children(customers, 'policies', info);
  const first = policies[0];
  const type = info.schema.getType('Customer') as { getFields?: () => Record<string, GraphQLField<unknown, unknown>> };
  const field = type?.getFields?.().policies;
  return {
    lineage: children(customers, 'lineage', info).length > 0,
    identifiers: children(customers, 'identifiers', info).length > 0,
    contactPoints: children(customers, 'contactPoints', info).length > 0,
    // One page is read ahead: the first `policies` selection's (an alias with other arguments reads its own).
    policies:
      first && field
        ? {
            ...(argumentValues(field, first, info) as PolicyPageArgs),
            ...policyPagePlan(
              policies.filter((p) => sameArguments(p, first)),
              info,
            ),
          }
        : null,
  };
}

/** The plan for a `policies` field's page itself (when it was not read with its customer). */
export function policiesPlan(info: GraphQLResolveInfo): PolicyPagePlan {
  return policyPagePlan(info.fieldNodes, info);
}

/** The plan for the customers of a customer connection (`searchCustomers`): its edges' nodes. */
export function customerConnectionPlan(info: GraphQLResolveInfo): CustomerPlan {
  return customerPlan(children(children(info.fieldNodes, 'edges', info), 'node', info), info);
}

const argumentsText = (f: FieldNode) => (f.arguments ?? []).map((a) => print(a)).join(',');
const sameArguments = (a: FieldNode, b: FieldNode) => a === b || argumentsText(a) === argumentsText(b);

/** A field's arguments with their defaults: the scalar and enum literals and variables `policies` takes. */
function argumentValues(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  info: GraphQLResolveInfo,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of field.args) {
    const given = node.arguments?.find((a) => a.name.value === arg.name);
    const value = given ? literal(given.value, info) : undefined;
    if (value !== undefined) out[arg.name] = value;
    else if (arg.defaultValue !== undefined) out[arg.name] = arg.defaultValue;
  }
  return out;
}

function literal(v: ValueNode, info: GraphQLResolveInfo): unknown {
  switch (v.kind) {
    case Kind.VARIABLE:
      return info.variableValues[v.name.value];
    case Kind.INT:
      return Number.parseInt(v.value, 10);
    case Kind.FLOAT:
      return Number.parseFloat(v.value);
    case Kind.STRING:
    case Kind.ENUM:
      return v.value;
    case Kind.BOOLEAN:
      return v.value;
    case Kind.NULL:
      return null;
    default:
      // Lists and objects: no argument of `policies` takes one.
      return undefined;
  }
}
