/** `segment worker` as its own process, so a test can kill it the hard way, as a crash would. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

export function startWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): WorkerProcess {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  // No metrics endpoint unless the test gives one (a free port): many workers run at once in CI.
  const child = spawn('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), 'worker'], { env: { METRICS_ADDRESS: 'off', ...env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    pid: child.pid!,
    output: () => fs.readFileSync(logFile, 'utf8'),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until the worker has printed that it polls its task queue. */
export async function untilPolling(worker: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/worker polling/.test(worker.output())) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
    if (Date.now() > deadline) throw new Error(`worker not polling after ${timeoutMs}ms: ${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
