import { spawn } from 'node:child_process';
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import { paced } from './paced-load.ts';
import { preparePooledStatements } from '../src/db/prepared.ts';
import { apolloMiddleware } from '../src/resolvers/apollo-express.ts';

/**
 * What a request leaves for the old generation, by the way it talks to PostgreSQL (`npm run bench:promotion`).
 *
 * The serving process's major collections were the name search's p99 at a million customers; what fed them was
 * request objects promoted out of the young generation, though nothing held them once answered. This bench finds
 * such a cause side by side: one GraphQL server per variant, Express and Apollo Server as in the hub (a child
 * process with the hub's young-generation size and `--trace-gc-nvp`), each request reading 20 rows twice (each
 * read inside `begin … rollback` for the session variants), at an even 200 requests/s from a worker thread (bench/paced-load.ts); printed are the bytes
 * the scavenger promoted per MB allocated, after a 3 s warm-up, and the major collections:
 *   - `pg-promise`: Kysely on node-postgres as it ships (`client.query` in its promise form);
 *   - `pg-callback`: the same with the pool hook of src/db/prepared.ts (the callback form);
 *   - `kysely-session`: begin, statement, rollback on a connection Kysely holds (`getExecutor().provideConnection`);
 *   - `pg-session`: the same three on a client of the hooked pool itself, as src/db/read-pool.ts reads.
 * Counts, not times: they hold on a shared machine. DATABASE_URL (default the local PostgreSQL) is only read from.
 */
const variants = ['pg-promise', 'pg-callback', 'kysely-session', 'pg-session'] as const;
type Variant = (typeof variants)[number];
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const statement = `select g as id, md5(g::text) as a, md5((g + 1)::text) as b, now() as c, repeat('y', 100) as e,
  json_build_object('k', g, 'v', md5(g::text)) as f from generate_series(1, 20) g where $1::int > 0`;

if (process.argv[2] === 'serve') await serve(process.argv[3] as Variant);
else await measure();

async function serve(variant: Variant): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  if (variant !== 'pg-promise') preparePooledStatements(pool);
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  const raw = (v: number) => CompiledQuery.raw(statement, [v]);
  const read = async (v: number): Promise<unknown[]> => {
    if (variant === 'kysely-session')
      return kysely.getExecutor().provideConnection(async (c) => {
        await c.executeQuery(CompiledQuery.raw('begin'));
        const { rows } = await c.executeQuery(raw(v));
        await c.executeQuery(CompiledQuery.raw('rollback'));
        return rows;
      });
    if (variant === 'pg-session') {
      const client = await pool.connect();
      try {
        await client.query('begin', []);
        const { rows } = await client.query(statement, [v]);
        await client.query('rollback', []);
        return rows;
      } finally {
        client.release();
      }
    }
    return (await kysely.executeQuery(raw(v))).rows;
  };
  // Served as the hub serves: Express 5 and Apollo Server (src/resolvers/apollo-express.ts) over a schema.
  const schema = makeExecutableSchema({
    typeDefs: `type Sub { k: Int v: String } type Row { id: Int a: String b: String e: String f: Sub more: Int }
      type Query { rows(i: Int): [Row] }`,
    resolvers: {
      Query: {
        rows: async () => {
          const [first, second] = await Promise.all([read(1), read(2)]);
          return (first as Record<string, unknown>[]).map((r) => ({ ...r, more: second.length }));
        },
      },
    },
  });
  const apollo = new ApolloServer({ schema });
  await apollo.start();
  const app = express();
  app.use(express.json());
  app.post(
    '/',
    apolloMiddleware(apollo, async () => ({})),
  );
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}/` })}\n`);
  });
  process.once('SIGTERM', () => process.exit(0));
}

async function measure(): Promise<void> {
  const { values: args } = parseArgs({
    options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' } },
  });
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const bodies = Array.from({ length: 100 }, (_, i) =>
    JSON.stringify({ query: 'query Q($i: Int) { rows(i: $i) { id a b e f { k v } more } }', variables: { i } }),
  );
  console.log(`bench:promotion — ${rate} requests/s for ${seconds} s per variant; scavenges after the first 3 s`);
  console.log(
    'variant          promoted kB per MB allocated   promoted MB   allocated MB   major collections   p99 ms',
  );
  for (const variant of variants) {
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=8', '--trace-gc-nvp', fileURLToPath(import.meta.url), 'serve', variant],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DATABASE_URL: databaseUrl } },
    );
    let promoted = 0;
    let allocated = 0;
    let majors = 0;
    let pending = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the ${variant} server exited with ${code}`)));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.startsWith('{"url"')) resolve((JSON.parse(line) as { url: string }).url);
          const at = Number(/\s(\d+) ms: /.exec(line)?.[1] ?? 0);
          if (line.includes(' gc=mc ')) majors += 1;
          if (!line.includes(' gc=s ') || at < 3000) continue;
          promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
          allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
        }
      });
    });
    const result = await paced({ url, headers: { 'content-type': 'application/json' } }, bodies, {
      rate,
      duration: seconds,
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    if (result.failed > 0) throw new Error(`${variant}: ${result.failed} requests failed`);
    console.log(
      `${variant.padEnd(17)}${((promoted / Math.max(allocated, 1)) * 1000).toFixed(1).padStart(27)}   ${(promoted / 1e6).toFixed(1).padStart(11)}   ${(allocated / 1e6).toFixed(0).padStart(12)}   ${String(majors).padStart(17)}   ${result.p99.toFixed(1).padStart(6)}`,
    );
  }
}
