import type { Resolvers } from '../generated/graphql.ts';
import { activityResolvers } from './activity.resolver.ts';
import { auditQueries } from './audit.resolver.ts';
import { consentResolvers } from './consent.resolver.ts';
import { rightsResolvers } from './rights.resolver.ts';
import { householdResolvers } from './household.resolver.ts';
import { riskResolvers } from './risk.resolver.ts';
import { DateScalar, DateTimeScalar, DecimalScalar, JSONObjectScalar } from './scalars.ts';
import { AttributeLineage, ContactPoint, Customer, customerQueries, Identifier } from './customer.resolver.ts';
import { CustomerPolicyEdge, Policy, PolicyCover, PolicyParticipant } from './policy.resolver.ts';
import { SourceRecord, sourceQueries } from './source.resolver.ts';
import { Node, nodeQueries } from './node.resolver.ts';
import { programmeResolvers } from './programme.resolver.ts';
import {
  CustomerVersion,
  MatchExplanation,
  ReviewTask,
  resultUnions,
  stewardshipMutations,
  stewardshipQueries,
} from './stewardship.resolver.ts';

export const hubVersion = '0.1.0';

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Decimal: DecimalScalar,
  JSONObject: JSONObjectScalar,
  Query: {
    hubVersion: () => hubVersion,
    ...nodeQueries,
    ...customerQueries,
    ...sourceQueries,
    ...stewardshipQueries,
    ...riskResolvers.Query,
    ...auditQueries,
    ...householdResolvers.Query,
    ...rightsResolvers.Query,
    ...programmeResolvers.Query,
  },
  Mutation: {
    ...stewardshipMutations,
    ...riskResolvers.Mutation,
    ...householdResolvers.Mutation,
    ...rightsResolvers.Mutation,
    ...programmeResolvers.Mutation,
  },
  SubjectAccessResult: rightsResolvers.SubjectAccessResult,
  RightsRequestResult: rightsResolvers.RightsRequestResult,
  ...resultUnions,
  Node,
  ReviewTask,
  CustomerVersion,
  MatchExplanation,
  Customer: {
    ...Customer,
    ...riskResolvers.Customer,
    ...householdResolvers.Customer,
    ...consentResolvers.Customer,
    ...programmeResolvers.Customer,
  },
  ConsentState: consentResolvers.ConsentState,
  Identifier,
  ContactPoint,
  AttributeLineage,
  CustomerPolicyEdge,
  Policy,
  PolicyCover,
  PolicyParticipant,
  SourceRecord,
  ...activityResolvers,
  BlacklistEntryResult: riskResolvers.BlacklistEntryResult,
  ScreeningHitResult: riskResolvers.ScreeningHitResult,
  BlacklistEntry: riskResolvers.BlacklistEntry,
  ScreeningHit: riskResolvers.ScreeningHit,
  AlertResult: riskResolvers.AlertResult,
  BlacklistBatchResult: riskResolvers.BlacklistBatchResult,
  AlertRuleResult: riskResolvers.AlertRuleResult,
  Alert: riskResolvers.Alert,
  HouseholdResult: householdResolvers.HouseholdResult,
  NetworkExclusionResult: householdResolvers.NetworkExclusionResult,
  Household: householdResolvers.Household,
  HouseholdMember: householdResolvers.HouseholdMember,
  Relationship: householdResolvers.Relationship,
  CustomerListEdge: programmeResolvers.CustomerListEdge,
  FollowUp: programmeResolvers.FollowUp,
  Complaint: programmeResolvers.Complaint,
  CareDate: programmeResolvers.CareDate,
  ProgrammeJob: programmeResolvers.ProgrammeJob,
  ProgrammeRuleResult: programmeResolvers.ProgrammeRuleResult,
  AgentResult: programmeResolvers.AgentResult,
};
