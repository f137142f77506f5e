import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express from 'express';
import type { Logger } from '../config/logger.ts';

/**
 * GraphiQL at /graphiql, in development only: GraphiQL 4's browser build with React 18's, served by the hub from
 * node_modules (no CDN, works offline). On the embedded default the headers editor starts with the development
 * token — minted per page, and only for a browser on this machine (loopback), as the token printed at start is.
 * The packages are development dependencies: an install without them simply has no GraphiQL.
 */
export type GraphiQLOptions = {
  /** The embedded default's all-roles development token, or null (the developer pastes their own). */
  devToken: (() => Promise<string>) | null;
};

const assets: Record<string, { pkg: string; file: string; type: string }> = {
  'graphiql.min.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  'graphiql.min.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
  'react.production.min.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.production.min.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript' },
};

/** The page's own script: no inline script, so the page's CSP allows scripts from the hub only. */
const boot = `'use strict';
const config = JSON.parse(document.getElementById('hub-config').textContent);
// The token goes with every request (the schema is fetched before the headers editor is read); what the headers
// editor says is sent over it.
const fetcher = GraphiQL.createFetcher({ url: config.url, headers: config.token ? { Authorization: 'Bearer ' + config.token } : {} });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.defaultQuery,
    headers: config.headers,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: config.headers ? 'headers' : undefined,
  }),
);
`;

const pageCsp = [
  "default-src 'none'",
  "script-src 'self'",
  // CodeMirror and the UI library set style attributes and <style> elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const isLoopback = (address: string | undefined) =>
  !!address && (address === '::1' || /^(::ffff:)?127\./.test(address));

const defaultQuery = `# The hub's GraphQL API (docs/api.md). Run with Ctrl-Enter.
{
  hubVersion
}
`;

/** The router for /graphiql, or null when the GraphiQL packages are not installed. */
export function graphiqlRouter(options: GraphiQLOptions, graphqlPath: string, logger: Logger): express.Router | null {
  const require = createRequire(import.meta.url);
  const files = new Map<string, { path: string; type: string }>();
  for (const [name, asset] of Object.entries(assets)) {
    let path: string;
    try {
      path = join(dirname(require.resolve(`${asset.pkg}/package.json`)), asset.file);
    } catch {
      logger.warn('GraphiQL is not installed (development dependencies); /graphiql is off', { missing: asset.pkg });
      return null;
    }
    if (!existsSync(path)) {
      logger.warn('GraphiQL asset missing; /graphiql is off', { path });
      return null;
    }
    files.set(name, { path, type: asset.type });
  }
  const router = express.Router();
  router.get('/assets/boot.js', (_req, res) => {
    res.type('text/javascript').set('cache-control', 'no-cache').send(boot);
  });
  router.get('/assets/:name', (req, res) => {
    const file = files.get(req.params.name);
    if (!file) return void res.status(404).end();
    res.type(file.type).set('cache-control', 'public, max-age=3600').sendFile(file.path);
  });
  router.get('/', async (req, res) => {
    const token = options.devToken && isLoopback(req.socket.remoteAddress) ? await options.devToken() : null;
    const config = {
      url: graphqlPath,
      defaultQuery,
      token,
      headers: token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : undefined,
    };
    // JSON in a non-executed script element: `<` escaped so that no value can close the element.
    const json = JSON.stringify(config).replace(/</g, '\\u003c');
    res
      .set({ 'content-security-policy': pageCsp, 'cache-control': 'no-store' })
      .type('html')
      .send(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Customer hub · GraphiQL</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css" />
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="application/json" id="hub-config">${json}</script>
    <script src="/graphiql/assets/react.production.min.js"></script>
    <script src="/graphiql/assets/react-dom.production.min.js"></script>
    <script src="/graphiql/assets/graphiql.min.js"></script>
    <script src="/graphiql/assets/boot.js"></script>
  </body>
</html>
`);
  });
  return router;
}
