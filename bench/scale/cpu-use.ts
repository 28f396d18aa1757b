/**
 * Where a step's CPU goes, and `--pin`: the stack's servers on one set of cores and the bench with
 * its workers and anchors on the others (taskset), as if the workers ran on machines of their own.
 * Linux only: it reads /proc and runs util-linux's `taskset`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Clock ticks per second of /proc/PID/stat's times: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;
const SAMPLE_EVERY_MS = 100;

/** The pids of the stack's servers (temporal, kafka, mysql), from .stack/run/NAME.pid. */
export function serverPids(stackDir: string): Map<string, number> {
  const runDir = path.join(stackDir, 'run');
  const pids = new Map<string, number>();
  for (const file of fs.readdirSync(runDir).filter((name) => name.endsWith('.pid'))) {
    const pid = Number(fs.readFileSync(path.join(runDir, file), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && fs.existsSync(`/proc/${pid}`)) pids.set(file.replace(/\.pid$/, ''), pid);
  }
  return pids;
}

/** Pins every thread of each process to `cpus` (a taskset list such as "0" or "1-3"); its later threads and children inherit it. */
export function pin(pids: Iterable<number>, cpus: string): void {
  for (const pid of pids) execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
}

/** The cores a process may run on, as taskset reports them ("0", "1", "0,1"). */
export function affinity(pid: number): string {
  return execFileSync('taskset', ['--cpu-list', '--pid', String(pid)], { encoding: 'utf8' }).trim().split(': ').pop()!;
}

export const allCpus = (): string => `0-${os.cpus().length - 1}`;

/** CPU seconds a process has used so far, all its threads (user + system); 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

interface Sample {
  at: number;
  seconds: Record<string, number>;
}

/** CPU seconds of named groups of processes, sampled every 100 ms, so any window of a run can be read afterwards. */
export class CpuSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly groups: Record<string, number[]>) {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** Cores each group kept busy on average between two instants (1.0 = one core all the time). */
  coresBetween(fromMs: number, toMs: number): Record<string, number> {
    const at = (ms: number) => this.samples.reduce((best, sample) => (Math.abs(sample.at - ms) < Math.abs(best.at - ms) ? sample : best));
    const [from, to] = [at(fromMs), at(toMs)];
    const wall = (to.at - from.at) / 1000;
    return Object.fromEntries(Object.keys(this.groups).map((group) => [group, wall > 0 ? (to.seconds[group] - from.seconds[group]) / wall : NaN]));
  }

  private sample(): void {
    const seconds = Object.fromEntries(Object.entries(this.groups).map(([group, pids]) => [group, pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)]));
    this.samples.push({ at: Date.now(), seconds });
  }
}
