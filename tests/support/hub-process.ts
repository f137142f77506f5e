import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testJwtSecret } from './hub.ts';
import { hubNodeFlags } from './hub-node-flags.ts';

/**
 * The hub as a separate process (`hub start`, with the node flags of `npm run hub`), for tests that kill it. Its stderr goes to `logFd` when given
 * (kept, not printed), otherwise it is collected and printed only if the process ends with errors on its own.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

export type HubProcess = {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export function startHubProcess(env: Record<string, string>, opts: { logFd?: number } = {}): HubProcess {
  const child = spawn(process.execPath, [...hubNodeFlags(), 'src/cli/hub.ts', 'start'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HUB_JWT_SECRET: testJwtSecret, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', opts.logFd ?? 'pipe'],
  });
  return watch(child);
}

/**
 * The hub the way users run it: through npm (`npm start`, or `npm run hub -- start`), outside the test
 * environment (no NODE_ENV=test, which changes what Apollo Server does with signals). `url` resolves with the
 * GraphQL address the hub prints once it is up; `output` holds everything it printed so far.
 */
export type UserHubProcess = HubProcess & { url: Promise<string>; output(): string };

export function startHubAsUsersDo(npmArgs: string[], env: Record<string, string>): UserHubProcess {
  const {
    NODE_ENV: _nodeEnv,
    VITEST: _vitest,
    VITEST_WORKER_ID: _worker,
    VITEST_POOL_ID: _pool,
    ...clean
  } = process.env;
  const child = spawn('npm', npmArgs, {
    cwd: root,
    env: { ...clean, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /GraphQL at (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`hub exited before it was up (${code ?? signal}):\n${output}`)),
    );
  });
  url.catch(() => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, url, output: () => output };
}

function watch(child: ChildProcess): HubProcess {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  void exited.then(({ signal }) => {
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && stderr.includes('"level":"error"'))
      process.stderr.write(stderr);
  });
  return { child, exited };
}
