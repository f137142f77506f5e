import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import { hubVersion } from '../../src/resolvers/index.ts';
import type { RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub } from '../support/hub.ts';

/**
 * GraphiQL served by the hub in development, seen by a person: headless Chromium (Debian's `chromium`, driven
 * by playwright-core) opens /graphiql on the embedded default with every request outside the hub refused (so
 * the page works offline, from node_modules), finds the development token in the headers editor, runs
 * `{ hubVersion }` with the run button and reads the result; a screenshot is kept in tests/artifacts/. In
 * production there is no GraphiQL.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, '..', 'artifacts');

describe('GraphiQL', () => {
  let embedded: RunningHub;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(chromiumPath))
      throw new Error(
        `Chromium not found at ${chromiumPath}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    // The embedded default: no DATABASE_URL, no HUB_JWT_SECRET (development secret and token).
    embedded = await startTestHub({ DATABASE_URL: undefined, HUB_JWT_SECRET: undefined });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    await embedded?.stop();
  });

  it('runs a query from the page on the embedded default, offline, with the development token filled in', async () => {
    expect(embedded.devToken).not.toBeNull();
    const origin = new URL(embedded.url).origin;
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const outside: string[] = [];
    const problems: string[] = [];
    await page.route('**/*', (route) => {
      if (new URL(route.request().url()).origin === origin) return route.continue();
      outside.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });

    const res = await page.goto(`${origin}/graphiql`);
    expect(res?.status()).toBe(200);
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: 30_000 });

    // The headers editor holds the development token: all roles, signed by the hub's development secret.
    type Editor = { CodeMirror: { getValue(): string; setValue(v: string): void } };
    const headers = await page
      .locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')
      .evaluate((el) => (el as unknown as Editor).CodeMirror.getValue());
    const token = /Bearer ([\w.-]+)/.exec(headers)?.[1];
    expect(token, `headers editor: ${headers}`).toBeDefined();
    expect(decodeJwt(token as string).roles).toEqual(expect.arrayContaining(['CHANNEL_APP', 'DATA_STEWARD']));

    // Typed into the query editor (CodeMirror's own API, as a paste would), then the run button.
    await page
      .locator('.graphiql-query-editor .CodeMirror')
      .evaluate((el) => (el as unknown as Editor).CodeMirror.setValue('{ hubVersion }'));
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await expect
      .poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 30_000 })
      .toContain(`"hubVersion": "${hubVersion}"`);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'graphiql.png') });
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('is not served in production, and on a development hub with a real secret has no token', async () => {
    const db: TestDatabase = await createTestDatabase();
    const prod = await startTestHub({ DATABASE_URL: db.url });
    const dev = await startTestHub({ DATABASE_URL: db.url, HUB_DEV: '1' });
    try {
      const at = (hub: RunningHub, path: string) => fetch(new URL(path, hub.url));
      expect((await at(prod, '/graphiql')).status).toBe(404);
      expect((await at(prod, '/graphiql/assets/graphiql.min.js')).status).toBe(404);
      const page = await at(dev, '/graphiql');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).not.toMatch(/Bearer|eyJ/);
      expect((await at(dev, '/graphiql/assets/graphiql.min.js')).status).toBe(200);

      // The printed GraphQL address opened in a browser: GraphiQL when developing; never Apollo's CDN landing page.
      const browse = (hub: RunningHub) =>
        fetch(new URL('/graphql', hub.url), { headers: { accept: 'text/html' }, redirect: 'manual' });
      const toGraphiql = await browse(dev);
      expect(toGraphiql.status).toBe(302);
      expect(toGraphiql.headers.get('location')).toBe('/graphiql');
      const production = await browse(prod);
      expect(production.status).toBe(400);
      expect(await production.text()).not.toMatch(/<html|cdn\.apollographql|sandbox/i);
    } finally {
      await dev.stop();
      await prod.stop();
      await db.drop();
    }
  });
});
