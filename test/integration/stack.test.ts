/** `segment stack up` is idempotent: run again it starts nothing, changes nothing, and is quick. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { stackKill, stackStatus, stackUp } from '../../infra/stack/stack';
import { hostOf, loadConfig, PROJECT_ROOT, setting } from '../../lib/config';

const run = promisify(execFile);
const SEGMENT = path.join(PROJECT_ROOT, 'bin', 'segment.js');

test('a second `stack up` is a quick no-op and `stack status` shows all three up', async () => {
  const before = await stackStatus();
  expect(before.map((s) => [s.name, s.up])).toEqual([
    ['temporal', true],
    ['kafka', true],
    ['mysql', true],
  ]);

  const started = Date.now();
  const { stdout } = await run('node', [SEGMENT, 'stack', 'up']);
  const seconds = (Date.now() - started) / 1000;
  expect(stdout).toMatch(/temporal: already up/);
  expect(stdout).toMatch(/kafka: already up/);
  expect(stdout).toMatch(/mysql: already up/);
  expect(stdout).not.toMatch(/started in/);
  // Starting nothing is what the lines above and the pids below show. The bound catches what they
  // cannot: an up that kept probing a server until it answered (each server's wait runs a minute or
  // more). It takes 2 to 3 s on a 2-core machine at load 6, and the outage lane runs it beside the
  // integration tests: room for a busy machine, not for a readiness wait.
  expect(seconds).toBeLessThan(30);

  const after = await stackStatus();
  expect(after.map((s) => s.pid)).toEqual(before.map((s) => s.pid));

  const status = await run('node', [SEGMENT, 'stack', 'status']);
  expect(status.stdout).toMatch(/temporal\s+up/);
  expect(status.stdout).toMatch(/kafka\s+up/);
  expect(status.stdout).toMatch(/mysql\s+up/);
  expect(status.stdout).toContain(`http://${hostOf(loadConfig().temporalAddress)}:${setting('TEMPORAL_UI_PORT')}`);
});

test('`stack up` after a server crashed starts it again', async () => {
  const [before] = await stackStatus(['mysql']);
  expect(before.pid).toBeDefined();
  await stackKill('mysql');
  while ((await stackStatus(['mysql']))[0].up) await new Promise((resolve) => setTimeout(resolve, 100));

  const [result] = await stackUp(['mysql']);
  expect(result.action).toBe('started');
  const [after] = await stackStatus(['mysql']);
  expect(after.up).toBe(true);
  expect(after.pid).not.toBe(before.pid);
});
