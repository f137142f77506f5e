import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * The embedded default for a newcomer: real PostgreSQL (PGlite, WASM) persisted under the data folder and
 * served over the PostgreSQL wire protocol on loopback, so the hub uses exactly the same `pg`/MikroORM code
 * path as with a server. PGlite is a single session: the hub's pool is capped at one connection in this mode
 * (see orm.ts) because queries from several sockets would interleave inside one another's transactions.
 */
export type EmbeddedPostgres = { url: string; dataDir: string; stop(): Promise<void> };

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  inMemory?: boolean;
}): Promise<EmbeddedPostgres> {
  const dir = resolve(opts.dataDir, 'pglite');
  if (!opts.inMemory) mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(opts.inMemory ? undefined : dir, { extensions: { pg_trgm } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port, maxConnections: 4 });
  await server.start();
  const conn = server.getServerConn(); // host:port, with the real port when 0 was asked for
  const port = Number(conn.split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir: dir,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
