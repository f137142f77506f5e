import type { ApolloServer, BaseContext, ContextFunction, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';

/**
 * Apollo Server on Express 5: what `@as-integrations/express5`'s `expressMiddleware` does, less its per-request
 * `url.parse` of the whole URL (~3 % of the hub's CPU on the customer 360) to find the query string: the query
 * string is what follows the first `?` of the request target (Node never hands a fragment to a server).
 * `again`, asked after each answer, may have the request run once more, the first answer thrown away unsent
 * (a query that must read one snapshot after all: src/resolvers/read-modes.ts).
 */
export function apolloMiddleware<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: ContextFunction<[{ req: Request; res: Response }], TContext>,
  again: (req: Request) => boolean = () => false,
): RequestHandler {
  server.assertStarted('apolloMiddleware()');
  return async (req, res) => {
    if (!('body' in req)) {
      res.status(500);
      res.send(
        '`req.body` is not set; this probably means you forgot to set up the ' +
          '`json` middleware before the Apollo Server middleware.',
      );
      return;
    }
    const headers = new HeaderMap();
    for (const key in req.headers) {
      const value = req.headers[key];
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const q = req.url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: req.method.toUpperCase(),
      headers,
      search: q < 0 ? '' : req.url.slice(q),
      body: req.body,
    };
    const run = () => server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context({ req, res }) });
    let response = await run();
    if (again(req)) response = await run();
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status || 200;
    if (response.body.kind === 'complete') {
      res.send(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
      const flushable = res as unknown as { flush?: () => void };
      if (typeof flushable.flush === 'function') flushable.flush();
    }
    res.end();
  };
}
