/**
 * The two builds the RFM bench compares: an older commit checked out into a git worktree under
 * .stack/bench/ (gitignored) and built there, and the current checkout as it is built now.
 * Each side runs its own dist/ (bin/segment.js), so each is exactly its commit's code.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Runs a command to completion; a failure throws with the tail of what it printed. */
export function runOrThrow(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${output.slice(-3000)}`);
  return output;
}

export const git = (cwd: string, ...args: string[]) => runOrThrow('git', args, cwd).trim();

/**
 * The baseline commit in a detached worktree at `tree`, with the current checkout's node_modules
 * linked in (the baseline's package-lock must be the same; the bench checks) and built. A worktree
 * left by an earlier run is reused when it is at the same commit, so the build is incremental.
 */
export function prepareBaselineTree(projectRoot: string, commit: string, tree: string): void {
  if (fs.existsSync(tree)) {
    const head = git(tree, 'rev-parse', 'HEAD');
    if (head !== commit) throw new Error(`${tree} is at ${head}, not ${commit}: remove it (git worktree remove --force ${tree}) and run again`);
    if (git(tree, 'status', '--porcelain', '--untracked-files=no') !== '') throw new Error(`${tree} has local changes: remove it (git worktree remove --force ${tree}) and run again`);
  } else {
    // A worktree directory deleted by hand stays registered until pruned, and `add` would refuse its path.
    git(projectRoot, 'worktree', 'prune');
    fs.mkdirSync(path.dirname(tree), { recursive: true });
    git(projectRoot, 'worktree', 'add', '--detach', tree, commit);
  }
  const lockOf = (root: string) => fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8');
  if (lockOf(tree) !== lockOf(projectRoot)) throw new Error(`${commit}'s package-lock.json differs from this checkout's: the shared node_modules would not be its dependencies`);
  const modules = path.join(tree, 'node_modules');
  if (!fs.existsSync(modules)) fs.symlinkSync(fs.realpathSync(path.join(projectRoot, 'node_modules')), modules);
  runOrThrow('npm', ['run', 'build'], tree);
}

/**
 * The current checkout's dist/ must be built from its sources as they are now (the same test
 * bin/segment.js warns with): the bench measures what runs, and a stale build would be the wrong code.
 */
export function requireFreshBuild(root: string): void {
  const buildInfo = path.join(root, 'dist', '.tsbuildinfo');
  if (!fs.existsSync(buildInfo) || !fs.existsSync(path.join(root, 'dist', 'workflow-bundle.js'))) {
    throw new Error(`${root} is not built: run \`npm run build\` first`);
  }
  const built = fs.statSync(buildInfo).mtimeMs;
  const newer = (dir: string): string | undefined => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      const found = entry.isDirectory() ? newer(file) : entry.name.endsWith('.ts') && fs.statSync(file).mtimeMs > built ? file : undefined;
      if (found) return found;
    }
    return undefined;
  };
  for (const folder of ['lib', 'workflows', 'activities', 'workers', 'migrations', 'cli', 'infra']) {
    const dir = path.join(root, folder);
    const changed = fs.existsSync(dir) ? newer(dir) : undefined;
    if (changed) throw new Error(`${path.relative(root, changed)} changed since the last build: run \`npm run build\` first`);
  }
}
