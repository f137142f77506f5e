import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testJwtSecret } from './hub.ts';

/**
 * The hub as a separate process (`hub start`), for tests that kill it. Its stderr goes to `logFd` when given
 * (kept, not printed), otherwise it is collected and printed only if the process ends with errors on its own.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

export type HubProcess = {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export function startHubProcess(env: Record<string, string>, opts: { logFd?: number } = {}): HubProcess {
  const child = spawn(process.execPath, ['src/cli/hub.ts', 'start'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HUB_JWT_SECRET: testJwtSecret, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', opts.logFd ?? 'pipe'],
  });
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
