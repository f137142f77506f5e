import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userInfo } from 'node:os';

/**
 * A PostgreSQL server of the test's own — a fresh cluster (initdb) on its own port, from the machine's
 * PostgreSQL binaries — so that a test can restart or crash the server without disturbing the shared server the
 * other test files use. As root (CI containers), the cluster belongs to the `postgres` user, since PostgreSQL
 * refuses to run as root.
 */
export type DedicatedPostgres = {
  url: string;
  port: number;
  halt(mode: 'fast' | 'immediate'): void;
  resume(): void;
  stop(): Promise<void>;
};

function binDir(): string {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromConfig.status === 0 && existsSync(join(fromConfig.stdout.trim(), 'initdb'))) return fromConfig.stdout.trim();
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) not found: install the PostgreSQL server package or put pg_config on PATH',
  );
}

export async function startDedicatedPostgres(port: number): Promise<DedicatedPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'hub-pg-'));
  const asRoot = userInfo().uid === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    execFileSync(file as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (asRoot) {
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    );
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const ctl = (...args: string[]) =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', ...args]);
  ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    // fast: clean shutdown, every client disconnected; immediate: no shutdown checkpoint, crash recovery at start.
    halt(mode) {
      ctl('stop', '-m', mode);
    },
    resume() {
      ctl('start');
    },
    async stop() {
      try {
        ctl('stop', '-m', 'immediate');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
