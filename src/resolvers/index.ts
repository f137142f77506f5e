import type { Resolvers } from '../generated/graphql.ts';
import { activityResolvers } from './activity.resolver.ts';
import { DateScalar, DateTimeScalar, DecimalScalar } from '../graphql/scalars.ts';
import { AttributeLineage, ContactPoint, Customer, customerQueries, Identifier } from './customer.resolver.ts';
import { CustomerPolicyEdge, Policy, PolicyCover, PolicyParticipant } from './policy.resolver.ts';
import { SourceRecord, sourceQueries } from './source.resolver.ts';
import { CustomerVersion, MatchExplanation, ReviewTask, resultUnions, stewardshipMutations, stewardshipQueries } from './stewardship.resolver.ts';

export const hubVersion = '0.1.0';

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Decimal: DecimalScalar,
  Query: {
    hubVersion: () => hubVersion,
    ...customerQueries,
    ...sourceQueries,
    ...stewardshipQueries,
  },
  Mutation: stewardshipMutations,
  ...resultUnions,
  ReviewTask,
  CustomerVersion,
  MatchExplanation,
  Customer,
  Identifier,
  ContactPoint,
  AttributeLineage,
  CustomerPolicyEdge,
  Policy,
  PolicyCover,
  PolicyParticipant,
  SourceRecord,
  ...activityResolvers,
};
