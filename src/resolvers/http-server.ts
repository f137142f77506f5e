import http from 'node:http';
import express from 'express';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { apolloMiddleware } from './apollo-express.ts';

import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import { withQueryStats, type QueryStats } from '../db/query-stats.ts';
import { AuthenticationError, verifyBearer, type TokenSettings, type Viewer } from '../auth/viewer.ts';
import { DomainError } from '../domain/errors.ts';
import { formatError, toGraphQLError } from './errors.ts';
import { requireTrustedDocuments, type TrustedDocuments } from './trusted-documents.ts';
import {
  defaultQueryLimits,
  limitRules,
  withExecutionDeadline,
  type QueryLimits,
  SearchRateLimiter,
} from './limits.ts';
import { openReadPool } from '../db/read-pool.ts';
import { discarded, newReadMode, readModes, runAgainInSnapshot } from './read-modes.ts';
import { buildSchema } from './schema.ts';
import { type GraphiQLOptions, graphiqlRouter } from './graphiql.ts';
import type { GraphQLContext, ReadMode } from './context.ts';
import { registry } from '../observability/metrics.ts';
import { AccessAuditLog } from '../services/access-audit.service.ts';
import { RequestContext, type RequestParts } from './request-context.ts';
import { warmReadPath } from './warm-up.ts';

/**
 * HTTP surface: /graphql (Apollo Server 5 on Express 5; POST, and GET for queries), /graphiql in development, GET /healthz (process is up), GET /readyz
 * (database answers, and the Kafka consumer runs when live consumption is on). Each GraphQL response carries
 * `x-sql-statements`, the number of SQL statements the request issued, which keeps N+1 regressions visible.
 */
export type HubServer = { url: string; port: number; stop(): Promise<void> };

export type ReadinessProbe = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

/**
 * Read sessions the start-up warm-up opens at most (src/resolvers/warm-up.ts): the first callers' concurrent
 * requests find that many ready; more open on demand, as before. Every session opened stays (the read pool keeps
 * them), so warming all of a large pool would hold its connections from the start on every instance.
 */
const warmSessionsMax = 4;

export async function startServer(opts: {
  orm: MikroORM;
  host: string;
  port: number;
  tokens: TokenSettings;
  logger: Logger;
  readiness: ReadinessProbe;
  /**
   * Query operations read on their own pool, each in one snapshot or in one statement (src/resolvers/read-modes.ts);
   * off on PGlite's single connection.
   */
  snapshotReads?: boolean;
  limits?: QueryLimits;
  /** Development: introspection, field suggestions and stack traces in errors; production leaves them out. */
  development?: boolean;
  /** Send `x-sql-statements` with every response (development, or when asked for). */
  sqlStatementsHeader?: boolean;
  /** When set, only these documents run (trusted documents, src/resolvers/trusted-documents.ts). */
  trustedDocuments?: TrustedDocuments;
  /** How long rows of the access audit are kept. */
  auditRetentionDays?: number;
  /** Alert suppressions longer than this need a second risk admin; none may be longer than the maximum. */
  suppressionLimitDays?: number;
  maxSuppressionDays?: number;
  /** Serve the schema as an Apollo Federation 2 subgraph (src/resolvers/federation.ts). */
  federation?: boolean;
  /** GraphiQL at /graphiql (development only; src/resolvers/graphiql.ts). */
  graphiql?: GraphiQLOptions;
}): Promise<HubServer> {
  const { orm, logger } = opts;
  const limits = opts.limits ?? defaultQueryLimits;
  const searchLimiter = new SearchRateLimiter(limits.searchesPerMinute);
  const auditLog = new AccessAuditLog(orm, logger, opts.auditRetentionDays ?? 365);
  // As many read sessions as the main pool has connections (DB_POOL_MAX).
  const readPoolMax = opts.snapshotReads ? ((orm.config.get('pool') as { max?: number } | undefined)?.max ?? 10) : 1;
  const readPool = opts.snapshotReads
    ? openReadPool(orm, {
        max: readPoolMax,
        statementTimeoutMs: limits.statementTimeoutMs,
      })
    : null;
  // A search run again in a snapshot was counted against the caller the first time.
  const countedAlready = { take() {} };
  const contextFor = (
    viewer: Viewer,
    request: Pick<RequestParts, 'stats' | 'deadlineAt' | 'readMode' | 'purpose' | 'searchLimiter'>,
  ) =>
    new RequestContext({
      ...request,
      viewer,
      em: orm.em.fork(),
      logger,
      suppression: {
        suppressionLimitDays: opts.suppressionLimitDays ?? 30,
        maxSuppressionDays: opts.maxSuppressionDays ?? 365,
      },
    });
  const app = express();
  const httpServer = http.createServer(app);

  const statsPlugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operationName }) {
          if (opts.sqlStatementsHeader)
            response.http.headers.set('x-sql-statements', String(contextValue.stats.statements));
          // Responses carry personal data: no shared cache may keep them.
          response.http.headers.set('cache-control', 'no-store');
          // An answer thrown away (run again in a snapshot, src/resolvers/read-modes.ts) was never seen.
          if (discarded(contextValue.readMode)) return;
          // The access audit of unmasked personal information (PIPL art. 51): one row per field read, written
          // in batches off the request path.
          const at = new Date();
          auditLog.record(
            contextValue.unmaskedReads.map((r) => ({
              at,
              subject: contextValue.viewer.subject,
              roles: contextValue.viewer.roles,
              purpose: contextValue.purpose,
              owner: r.owner,
              field: r.field,
              operation: operationName ?? null,
            })),
          );
        },
      };
    },
  };

  const apollo = new ApolloServer<GraphQLContext>({
    schema: withExecutionDeadline(buildSchema({ federation: opts.federation ?? false }), limits.deadlineMs),
    plugins: [
      // In-flight requests get 3 s to finish at shutdown (the default 10 s would use up the whole shutdown budget).
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: 3_000 }),
      // No cache hints in the schema and every response is `no-store` (statsPlugin): Apollo's default cache
      // control plugin only cost a hook on every field it resolved.
      ApolloServerPluginCacheControlDisabled(),
      // Apollo's landing pages load Apollo's Sandbox from a CDN (which the hub's content security policy blocks,
      // and which a machine without internet cannot reach); the hub serves its own GraphiQL at /graphiql when
      // developing, and a browser opening /graphql is sent there.
      ApolloServerPluginLandingPageDisabled(),
      statsPlugin,
      ...(readPool ? [readModes(logger, readPool)] : []),
    ],
    validationRules: limitRules(limits),
    parseOptions: { maxTokens: limits.maxTokens },
    introspection: opts.development ?? false,
    includeStacktraceInErrorResponses: opts.development ?? false,
    // The hub handles SIGTERM/SIGINT itself (src/cli/hub.ts) and stops Apollo once, in order. Apollo's own
    // handlers (on by default outside NODE_ENV=test) made a second, concurrent stop that never returned: the
    // process outlived SIGTERM until it was killed.
    stopOnTerminationSignals: false,
    // GET runs queries (never mutations: Apollo refuses those on GET). Apollo's CSRF guard lets a GET through
    // only with a header a cross-site form or <img> cannot send; every request here must carry `authorization`,
    // which a browser sends cross-site only after a CORS preflight the hub never approves, so it is one of them.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    formatError: (formatted, error) => formatError(formatted, error, logger, opts.development ?? false),
  });
  await apollo.start();

  app.disable('x-powered-by');
  // Responses are \`no-store\`: an entity tag (a hash of every body) would serve no cache.
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.set({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
    });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/readyz', async (_req, res) => {
    const result = await opts.readiness();
    res.status(result.ready ? 200 : 503).json(result);
  });

  if (opts.graphiql) {
    const router = graphiqlRouter(opts.graphiql, '/graphql', logger);
    if (router) {
      app.use('/graphiql', router);
      // The GraphQL address the hub prints, opened in a browser: GraphiQL (a GET with a query still runs it).
      app.get('/graphql', (req, res, next) => {
        if (req.query.query === undefined && req.accepts(['application/json', 'text/html']) === 'text/html')
          res.redirect(302, '/graphiql');
        else next();
      });
    }
  }

  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    ...(opts.trustedDocuments ? [requireTrustedDocuments(opts.trustedDocuments)] : []),
    (req, _res, next) => {
      // Every statement issued while serving this request is counted (see db/query-stats.ts).
      const stats: QueryStats = { statements: 0 };
      (req as unknown as { stats: QueryStats }).stats = stats;
      (req as unknown as { readMode: ReadMode }).readMode = newReadMode();
      (req as unknown as { deadlineAt: number }).deadlineAt = performance.now() + limits.deadlineMs;
      withQueryStats(stats, () => next());
    },
    apolloMiddleware(
      apollo,
      async ({ req }) => {
        const readMode = (req as unknown as { readMode: ReadMode }).readMode;
        let viewer;
        try {
          viewer = await verifyBearer(req.headers.authorization, opts.tokens);
        } catch (e) {
          if (e instanceof AuthenticationError) {
            throw toGraphQLError(new DomainError('UNAUTHENTICATED', e.message));
          }
          throw e;
        }
        return contextFor(viewer, {
          stats: (req as unknown as { stats: QueryStats }).stats,
          deadlineAt: (req as unknown as { deadlineAt: number }).deadlineAt,
          readMode,
          purpose: typeof req.headers['x-purpose'] === 'string' ? req.headers['x-purpose'].slice(0, 200) : null,
          searchLimiter: readMode.snapshot ? countedAlready : searchLimiter,
        });
      },
      (req) => runAgainInSnapshot((req as unknown as { readMode: ReadMode }).readMode),
    ),
  );

  // A body that is not JSON, or too large, gets a GraphQL-shaped JSON error, never Express's HTML page (which
  // carries a stack trace with the server's paths).
  app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; type?: string };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message =
      e.type === 'entity.parse.failed'
        ? 'the request body is not valid JSON'
        : e.type === 'entity.too.large'
          ? 'the request body is too large'
          : status < 500
            ? 'bad request'
            : 'Internal server error';
    if (status >= 500) logger.error('unexpected error in HTTP request', { error: err });
    res
      .status(status)
      .json({ errors: [{ message, extensions: { code: status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR' } }] });
  });

  // Before the server listens (so neither callers nor /readyz reach a cold hub): the first callers do not pay for
  // new sessions.
  await warmReadPath({
    apollo,
    // The warm-up's own searches are not a caller's: no rate limit, no purpose.
    contextFor: (viewer) =>
      contextFor(viewer, {
        stats: { statements: 0 },
        deadlineAt: performance.now() + limits.deadlineMs,
        readMode: newReadMode(),
        purpose: null,
        searchLimiter: countedAlready,
      }),
    sessions: Math.min(readPoolMax, warmSessionsMax),
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}/graphql`,
    port,
    async stop() {
      await apollo.stop();
      await auditLog.stop();
      await readPool?.close();
    },
  };
}
