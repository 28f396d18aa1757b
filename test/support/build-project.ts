/**
 * `npm run build`, before any test runs: every jest project's global set-up calls it (the unit
 * project has it as its set-up). Tests spawn `segment`, which runs the compiled dist/, and load
 * dist/workflow-bundle.js, the bundle workers run: a dist/ older than the sources must never be
 * what is tested. With nothing changed it takes about a second (tsc -b compares the sources with
 * its build info; the bundle is kept).
 */
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../lib/config';

/**
 * Set once a build here has passed: a later call in the same process, or in a process it starts
 * (test/run-tests.ts's lanes, each of whose jest runs one global set-up per project), skips the
 * build. Nothing the tests run edits the sources, so each lane building again only spent its
 * seconds of tsc and npm, some of them on CI's critical path.
 */
export const BUILT_ENV = 'SEGMENT_TEST_BUILT';

export function buildProject(): void {
  if (process.env[BUILT_ENV] === PROJECT_ROOT) return;
  // Bounded: a build that hangs would block jest's set-up, where no test timeout applies.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.error?.message ?? `exit ${build.status}`}):\n${build.stdout}${build.stderr}`);
  process.stderr.write(`  ${build.stdout.trim()}\n`);
  process.env[BUILT_ENV] = PROJECT_ROOT;
}

export default buildProject;
