import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';
import { DomainError } from '../domain/errors.ts';
import type { GraphQLContext } from './context.ts';

/**
 * What one request may cost, so that no caller — a channel app with a bug, or someone guessing resident ids —
 * can knock the hub over or enumerate customers. Measured before the limits: customer → policies → participants
 * → customer nested 12 deep with `first: 100` ran for minutes and took 3 GB; depth 4 ran 7,363 statements; a
 * 1,000-alias searchCustomers ran 2,002. Documents are refused before execution (validation, in milliseconds)
 * by depth, aliases, directives and a cost estimate (GraphQL Armor's rules), and by token count at parse time;
 * what still runs is bounded by a per-statement timeout and an execution deadline; searches by identifier are
 * rate-limited per caller. Every refusal carries a typed code (QUERY_TOO_COMPLEX, TIMEOUT, RATE_LIMITED).
 */
export type QueryLimits = {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
  maxTokens: number;
  statementTimeoutMs: number;
  deadlineMs: number;
  searchesPerMinute: number;
};

export const defaultQueryLimits: QueryLimits = {
  maxDepth: 15,
  maxAliases: 15,
  maxDirectives: 20,
  maxCost: 60_000,
  maxTokens: 3_000,
  statementTimeoutMs: 5_000,
  deadlineMs: 15_000,
  searchesPerMinute: 120,
};

/**
 * Armor's rules report their own errors, which Apollo turns into GRAPHQL_VALIDATION_FAILED; ours carry the
 * limit that was hit, and `formatError` (errors.ts) answers them as QUERY_TOO_COMPLEX.
 */
const refuse =
  (limit: string) =>
  (ctx: ValidationContext | null, error: GraphQLError): void => {
    ctx?.reportError(
      new GraphQLError(error.message, { nodes: error.nodes, extensions: { hubCode: 'QUERY_TOO_COMPLEX', limit } }),
    );
  };

export function limitRules(limits: QueryLimits): ValidationRule[] {
  const common = { propagateOnRejection: false, exposeLimits: true } as const;
  return [
    maxDepthRule({ ...common, n: limits.maxDepth, onReject: [refuse('depth')] }),
    maxAliasesRule({ ...common, n: limits.maxAliases, onReject: [refuse('aliases')] }),
    maxDirectivesRule({ ...common, n: limits.maxDirectives, onReject: [refuse('directives')] }),
    costLimitRule({ ...common, maxCost: limits.maxCost, onReject: [refuse('cost')] }),
  ] as unknown as ValidationRule[];
}

/**
 * Execution deadline: a field with a resolver of its own that starts resolving after the request's deadline
 * (`GraphQLContext.deadlineAt`) fails with TIMEOUT, so the rest of the response is cut short instead of running
 * on; fields without one only read what their parent already holds. A statement that runs longer than
 * `statementTimeoutMs` is cancelled by PostgreSQL (the read pool's sessions, src/db/read-pool.ts).
 * The check is put into the schema's resolvers once, not into an Apollo `willResolveField` hook: with any such
 * hook Apollo wraps every field of the schema, and for each field resolved allocates, calls the hooks and follows
 * the field's value (a promise, or every element of a list) to its end — measured ~3 % of the hub's CPU on a
 * customer 360, for a check that needs a clock reading.
 */
export function withExecutionDeadline(schema: GraphQLSchema, deadlineMs: number): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    // Object types (and interfaces, whose fields have no resolvers): no instanceof across graphql-js realms.
    if (type.name.startsWith('__') || !('getInterfaces' in type)) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = (source, args, ctx: GraphQLContext, info) => {
        if (performance.now() > ctx.deadlineAt)
          throw new DomainError('TIMEOUT', `the request ran past its deadline of ${deadlineMs} ms`);
        return resolve(source, args, ctx, info);
      };
    }
  }
  return schema;
}

export { SearchRateLimiter } from './search-rate-limiter.ts';
