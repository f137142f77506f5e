/**
 * Deliberate crash points for the crash-recovery tests (HUB_FAULT_INJECTION). Kept in one module so that
 * production code shows exactly where a crash is simulated: `crash-after-apply` kills the process with
 * SIGKILL right after a batch's database transaction has committed and before its Kafka offsets are committed —
 * the window in which at-least-once delivery produces a redelivery.
 */
export type FaultPoint = 'after-apply';

export function maybeCrash(point: FaultPoint): void {
  const setting = process.env.HUB_FAULT_INJECTION;
  if (setting === `crash-${point}`) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'fault injection: SIGKILL', point })}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

/**
 * `stall-shutdown`: a part of the hub that never finishes stopping (a consumer stuck reconnecting to a broker
 * that is gone), for the shutdown tests: the hub must still exit within its budget, and a second signal at once.
 */
export function stallOnStop(): Promise<void> {
  if (process.env.HUB_FAULT_INJECTION !== 'stall-shutdown') return Promise.resolve();
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'fault injection: stalling shutdown' })}\n`);
  return new Promise((resolve) => setTimeout(resolve, 120_000).unref());
}

/**
 * `exit-workers-thread`: the background workers' thread (src/runtime/background-workers.ts) ends itself after each
 * risk round that settled work, for the test that the hub starts it again and nothing queued is lost.
 */
export function maybeExitWorkersThread(): void {
  if (process.env.HUB_FAULT_INJECTION !== 'exit-workers-thread') return;
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'fault injection: the workers thread exits' })}\n`);
  process.exit(3);
}
