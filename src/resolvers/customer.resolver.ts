import type {
  CustomerResolvers,
  IdentifierResolvers,
  ContactPointResolvers,
  QueryResolvers,
  AttributeLineageResolvers,
} from '../generated/graphql.ts';
import type { GraphQLContext } from './context.ts';
import type { SourceRef } from '../services/customer.service.ts';
import { contactKey, eventBehind, identifierKey } from '../domain/event-fold.ts';
import { requireAccess } from './guard.ts';
import { mapMaybe } from '../services/loaders.ts';
import { customerConnectionPlan, customerPlan, policiesPlan } from './lookahead.ts';

/** Thin resolvers: check access, call one service or loader, return. */
export const customerQueries: QueryResolvers = {
  customer: (_root, { id }, ctx, info) => {
    requireAccess(ctx, 'readCustomers');
    return ctx.customers.byId(id, customerPlan(info.fieldNodes, info));
  },
  customerBySource: (_root, { system, sourceId }, ctx) => {
    requireAccess(ctx, 'readCustomers');
    return ctx.customers.bySource(system, sourceId);
  },
  searchCustomers: (_root, { query, first, after }, ctx, info) => {
    requireAccess(ctx, 'readCustomers');
    // Each alias counts: a search by resident id or phone reveals whether someone is a customer.
    if (query.idNumber || query.phone) ctx.searchLimiter.take(ctx.viewer.subject);
    return ctx.customers.search(query, first, after, customerConnectionPlan(info));
  },
};

export const Customer: CustomerResolvers = {
  sex: (p) => p.sex ?? null,
  possibleMatches: (p, _args, ctx) => ctx.stewardship.possibleMatches(p.id),
  identifiers: (p, _args, ctx) => ctx.loaders.identifiersByParty.get(p.id),
  contactPoints: (p, { kinds }, ctx) =>
    mapMaybe(ctx.loaders.contactPointsByParty.get(p.id), (all) =>
      kinds ? all.filter((c) => kinds.includes(c.kind)) : all,
    ),
  lineage: (p) => Object.entries(p.lineage ?? {}).map(([attribute, lineage]) => ({ attribute, lineage })),
  sourceRecords: (p, _args, ctx) => ctx.loaders.sourceRecordsByParty.load(p.id),
  policies: (p, args, ctx, info) => ctx.customers.policies(p.id, args, policiesPlan(info)),
  activities: (p, { filter, first, after }, ctx) => ctx.activities.forCustomer(p.id, filter ?? {}, first, after),
  payments: (p, { filter, first, after }, ctx) =>
    ctx.activities.forCustomer(p.id, { ...filter, kinds: ['PAYMENT'] }, first, after),
  claims: (p, { filter, first, after }, ctx) =>
    ctx.activities.forCustomer(p.id, { ...filter, kinds: ['CLAIM'] }, first, after),
  interactions: (p, { filter, first, after }, ctx) =>
    ctx.activities.forCustomer(p.id, { ...filter, kinds: ['INTERACTION'] }, first, after),
  history: async (p, { last }, ctx) =>
    (await ctx.loaders.historyByParty.load(p.id)).slice(0, Math.max(0, Math.min(last ?? 50, 200))),
};

/** The source record behind an identifier or contact point, and for a folded record the event behind the value. */
async function sourceRefOf(sourceRecordId: string, foldKey: string, ctx: GraphQLContext): Promise<SourceRef> {
  const record = await ctx.loaders.sourceRecord.load(sourceRecordId);
  if (!record) throw new Error(`source record ${sourceRecordId} is missing`);
  return {
    system: record.system,
    sourceId: record.sourceId,
    sourceTime: record.sourceTime ?? null,
    event: eventBehind(record.attributeVersions, foldKey),
  };
}

export const Identifier: IdentifierResolvers = {
  type: (i) => i.type as never,
  source: (i, _args, ctx) => sourceRefOf(i.sourceRecordId, identifierKey(i.type), ctx),
};

export const ContactPoint: ContactPointResolvers = {
  source: (c, _args, ctx) => sourceRefOf(c.sourceRecordId, contactKey(c.kind), ctx),
};

export const AttributeLineage: AttributeLineageResolvers = {
  attribute: (l) => l.attribute,
  source: (l) => ({
    system: l.lineage.system,
    sourceId: l.lineage.sourceId,
    sourceTime: l.lineage.sourceTime,
    event: l.lineage.event ?? null,
  }),
};
