import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { fileURLToPath } from 'node:url';
import { allEntities } from '../model/index.ts';
import { CountingLogger } from './query-stats.ts';

export type { EntityManager };
export type Orm = MikroORM;

const migrationsPath = fileURLToPath(new URL('../../migrations', import.meta.url));

export function ormOptions(clientUrl: string, opts: { poolMax: number; printQueries?: boolean }): Options {
  return {
    clientUrl,
    entities: allEntities,
    extensions: [Migrator],
    pool: { min: 0, max: opts.poolMax, idleTimeoutMillis: 10_000 },
    debug: ['query'],
    loggerFactory: (options) => new CountingLogger(options, opts.printQueries ?? false),
    migrations: {
      path: migrationsPath,
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // The hub writes through explicit transactions; nothing should be flushed implicitly.
    allowGlobalContext: false,
  };
}

export async function openOrm(clientUrl: string, opts: { poolMax: number; printQueries?: boolean }): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, opts));
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
