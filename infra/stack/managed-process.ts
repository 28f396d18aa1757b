/**
 * A server the stack starts in the background and finds again later: its pid lives in
 * .stack/run/NAME.pid and its output in .stack/logs/NAME.log, so `stack up` in another shell (or
 * after a crash) knows whether it is still running.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
}

export function managedProcess(stackDir: string, name: string): ManagedProcess {
  return {
    name,
    pidFile: path.join(stackDir, 'run', `${name}.pid`),
    logFile: path.join(stackDir, 'logs', `${name}.log`),
  };
}

/** The pid recorded for this server if that process is still alive. */
export function runningPid(proc: ManagedProcess): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(proc.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return pid;
}

export function startDetached(
  proc: ManagedProcess,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  fs.mkdirSync(path.dirname(proc.pidFile), { recursive: true });
  fs.mkdirSync(path.dirname(proc.logFile), { recursive: true });
  const log = fs.openSync(proc.logFile, 'a');
  fs.writeSync(log, `\n--- ${new Date().toISOString()} starting ${command}\n`);
  // detached + its own session: the server outlives the CLI or jest process that started it.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env, // none given: this process's environment (spawn's default)
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${proc.name} (${command})`);
  child.unref();
  fs.writeFileSync(proc.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, then SIGKILL if the server has not exited after `graceMs`. */
export async function stopProcess(proc: ManagedProcess, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(proc);
  if (pid === undefined) {
    fs.rmSync(proc.pidFile, { force: true });
    return false;
  }
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  fs.rmSync(proc.pidFile, { force: true });
  return true;
}

/** SIGKILL, no grace: the server dies as in a crash. Resolves once it is gone; false if it was not running. */
export async function killProcess(proc: ManagedProcess): Promise<boolean> {
  const pid = runningPid(proc);
  if (pid === undefined) return false;
  signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return true;
}

/** Resident memory of the server in MiB, read from /proc (Linux only). */
export function residentMemoryMiB(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export function lastLogLines(proc: ManagedProcess, count = 20): string {
  try {
    return fs.readFileSync(proc.logFile, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `probe` until it succeeds, the process dies, or the time is up. */
export async function waitUntilReady<T>(
  proc: ManagedProcess,
  probe: () => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (fs.existsSync(proc.pidFile) && runningPid(proc) === undefined) {
      throw new Error(`${proc.name} exited while starting; last lines of ${proc.logFile}:\n${lastLogLines(proc)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name} not ready after ${timeoutMs / 1000}s (${String(lastError)}); last lines of ${proc.logFile}:\n${lastLogLines(proc)}`,
      );
    }
    await sleep(250);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill(0).
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
