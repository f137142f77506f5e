import type { Resolvers } from '../generated/graphql.ts';
import { contactDecision } from '../services/consent.service.ts';

/** The consent registry in the customer 360: current consents with history, and whether we may contact. */
export const consentResolvers: Resolvers = {
  Customer: {
    consents: (p, _a, ctx) => ctx.loaders.consentsByParty.load(p.id) as never,
    mayContact: async (p, { purpose, channel }, ctx) =>
      contactDecision(p, await ctx.loaders.consentsByParty.load(p.id), purpose, channel),
  },
  ConsentState: {
    purpose: (c) => c.purpose as never,
    channel: (c) => c.channel as never,
  },
};
