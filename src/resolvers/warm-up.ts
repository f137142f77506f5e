import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import type { Logger } from '../config/logger.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { GraphQLContext } from './context.ts';

/**
 * The read path warmed before the server listens: the hub's most frequent lookups — a call centre finding the caller
 * by phone, a channel app opening a customer by id — run once on each of the first read sessions, all at once so
 * that each takes a session of its own. The answers are thrown away: only ids are asked for, the search is not
 * counted against anyone, and nothing is found or audited for a customer id no one has.
 *
 * Why: a started hub opened its read sessions on the first requests, and each new PostgreSQL backend loads its
 * catalog caches and plans the read statements on its first use; the resolvers' code runs for the first time. Eight
 * concurrent searches by phone (selecting what the warm-up selects), the first requests after bench:ingest's
 * catch-up: 197–241 ms, then 26–28 ms, then 12–15 ms; with the warm-up at start, 88 ms for the first eight after the
 * same catch-up with all seven read sessions warmed, 95–111 ms with four (on a busier machine; the catch-up's
 * ANALYZEs still make each session plan again). A caller's own document is still parsed and
 * validated on its first use, and a different selection is a different statement, planned on its first use.
 *
 * Never fails the start and holds it up at most `timeoutMs`: an error or a timeout is logged and the hub serves as
 * it would have (a statement still running ends at the read pool's statement timeout).
 */
const warmUpViewer: Viewer = { subject: 'hub:warm-up', roles: ['CHANNEL_APP'] };

const documents = [
  {
    // Any well-formed mobile number: the phone search's statement runs; whoever it finds, only ids come back, and
    // they are thrown away.
    query: `query HubWarmUpSearch($phone: String!) { searchCustomers(query: { phone: $phone }) { edges { node { id } } } }`,
    variables: () => ({ phone: '19900000000' }),
  },
  {
    // The customer 360's statement with what a channel app's view selects (the statement follows the selection),
    // for an id no customer has (null, no error).
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
  /** How many read sessions to warm at once. */
  sessions: number;
  logger: Logger;
  timeoutMs?: number;
}): Promise<void> {
  const started = performance.now();
  const warm = async () => {
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
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = await Promise.race([
      warm().then(() => false),
      new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), opts.timeoutMs ?? 10_000);
      }),
    ]);
    if (timedOut) opts.logger.warn('warming the read path took too long; serving without waiting for it');
    else
      opts.logger.info('read path warmed', {
        sessions: opts.sessions,
        ms: Math.round(performance.now() - started),
      });
  } catch (e) {
    opts.logger.warn('warming the read path failed; serving cold', { error: (e as Error).message });
  } finally {
    clearTimeout(timer);
  }
}
