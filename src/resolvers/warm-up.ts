import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import type { Logger } from '../config/logger.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { GraphQLContext } from './context.ts';

/**
 * The read path warmed before the first caller: the hub's most frequent lookups — a call centre finding the caller
 * by phone, a channel app opening a customer by id — run once on every read session, all at once so that each
 * takes a session of its own. Found nothing either way (a phone no customer has, an id no customer has); the
 * answers are thrown away.
 *
 * Why: a started hub opened its read sessions on the first requests, and each new PostgreSQL backend loads its
 * catalog caches and plans the read statements on its first use; the GraphQL documents are parsed and validated
 * for the first time and the resolvers' code is not yet optimised. Eight concurrent searches by phone, the first
 * requests after bench:ingest's catch-up: 197–241 ms, then 26–28 ms, then 12–15 ms; with the warm-up at start,
 * 88 ms for the first eight after the same catch-up (its ANALYZEs still make each session plan again) — the first
 * channel-app requests after a deploy or restart paid the difference.
 *
 * Never holds up or fails the start: an error is logged and the hub serves as it would have.
 */
const warmUpViewer: Viewer = { subject: 'hub:warm-up', roles: ['CHANNEL_APP'] };

const documents = [
  {
    // A mobile number in the reserved 199 0000 range (no customer's): the phone search's statement runs and finds none.
    query: `query HubWarmUpSearch($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node { id } } } }`,
    variables: () => ({ phone: '19900000000' }),
  },
  {
    // The customer 360's statement with what a channel app's view selects (the statement follows the selection).
    query: `query HubWarmUpCustomer($id: ID!) {
      customer(id: $id) {
        id displayName identifiers { type value } contactPoints { kind value }
        policies(first: 20) { totalCount edges { roles { role } node { policyNo status } } }
      }
    }`,
    variables: () => ({ id: randomUUID() }),
  },
];

export async function warmReadPath(opts: {
  apollo: ApolloServer<GraphQLContext>;
  /** Builds a request's context for a viewer, as the HTTP middleware does for a caller. */
  contextFor(viewer: Viewer): GraphQLContext;
  /** How many read sessions to warm at once (the read pool's size). */
  sessions: number;
  logger: Logger;
}): Promise<void> {
  const started = performance.now();
  try {
    for (const doc of documents) {
      const results = await Promise.all(
        Array.from({ length: Math.max(1, opts.sessions) }, () =>
          opts.apollo.executeOperation(
            { query: doc.query, variables: doc.variables() },
            { contextValue: opts.contextFor(warmUpViewer) },
          ),
        ),
      );
      for (const r of results)
        if (r.body.kind === 'single' && r.body.singleResult.errors?.length)
          throw new Error(r.body.singleResult.errors[0]?.message ?? 'unknown error');
    }
    opts.logger.info('read path warmed', {
      sessions: opts.sessions,
      ms: Math.round(performance.now() - started),
    });
  } catch (e) {
    opts.logger.warn('warming the read path failed; serving cold', { error: (e as Error).message });
  }
}
