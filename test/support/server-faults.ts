/** Faults of the real servers, for the fault tests: a crash (SIGKILL) and a restart of the local stack's own processes. */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackStatus, stackUp } from '../../infra/stack/stack';

export type ServerName = 'temporal' | 'kafka' | 'mysql';

/** Kills the server the way a crash would (no clean shutdown), and waits until it is gone. */
export async function crashServer(name: ServerName): Promise<void> {
  const [status] = await stackStatus([name]);
  if (status.pid === undefined) throw new Error(`${name} is not run by this stack: the test cannot crash it`);
  process.kill(status.pid, 'SIGKILL');
  while (isAlive(status.pid)) await sleep(50);
}

export async function restartServer(name: ServerName): Promise<void> {
  await stackUp([name]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (dead, not yet reaped by whoever started it) still answers kill(0).
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
