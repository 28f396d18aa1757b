/**
 * One place reads the environment: lib/config.ts. The local stack's own settings come from
 * infra/stack/stack-settings.ts, given an environment like every other module.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadStackSettings, STACK_DEFAULTS } from '../../infra/stack/stack-settings';
import { DEFAULTS, loadConfig, PROJECT_ROOT } from '../../lib/config';

test('process.env is read in lib/config.ts only (tests and benchmarks aside)', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.js'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file && !/^(test|bench)\//.test(file));
  const readers = files.filter((file) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8').includes('process.env'));
  expect(readers).toEqual(['lib/config.ts']);
});

test("the local stack's settings are its own: not the app's defaults, and read from the environment it is given", () => {
  for (const name of Object.keys(STACK_DEFAULTS)) expect(DEFAULTS).not.toHaveProperty(name);
  const stack = loadStackSettings({ STACK_DIR: '/srv/segmentation-stack', TEMPORAL_CLI: '/opt/temporal', JAVA_HOME: '/opt/jdk', TEMPORAL_UI_PORT: '18233' });
  expect(stack).toMatchObject({ stackDir: '/srv/segmentation-stack', toolsDir: '/srv/segmentation-stack/tools' });
  expect(stack.temporal).toMatchObject({ cli: '/opt/temporal', uiPort: 18233 });
  expect(stack.kafka.java).toBe('/opt/jdk/bin/java');
  expect(loadStackSettings({})).toMatchObject({ stackDir: path.join(PROJECT_ROOT, '.stack'), temporal: { cli: undefined }, kafka: { java: 'java' } });
  // The app reads TEMPORAL_UI_PORT too: its links point where the stack serves the UI.
  expect(loadConfig({ TEMPORAL_UI_PORT: '18233' }).temporalUiUrl).toBe('http://127.0.0.1:18233');
  expect(loadConfig({})).not.toHaveProperty('stackDir');
});
