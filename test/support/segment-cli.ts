/** Runs the `segment` command as a user would, in a child process. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/config';

const execFileAsync = promisify(execFile);

export async function segment(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; lastJson: any }> {
  const { stdout, stderr } = await execFileAsync('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), ...args], {
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split('\n');
  let lastJson: unknown;
  try {
    lastJson = JSON.parse(lines[lines.length - 1]);
  } catch {
    lastJson = undefined;
  }
  return { stdout, stderr, lastJson };
}

/** The same, for commands whose exit code is part of the answer (3: the run waits for an operator). */
export async function segmentExit(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; lastJson: any }> {
  try {
    return { code: 0, ...(await segment(args, env)) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    const stdout = failed.stdout ?? '';
    let lastJson: unknown;
    try {
      lastJson = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
    } catch {
      lastJson = undefined;
    }
    return { code: failed.code, stdout, stderr: failed.stderr ?? '', lastJson };
  }
}
