/**
 * One place reads the environment: lib/config.ts. The local stack's own settings come from
 * infra/stack/stack-settings.ts, given an environment like every other module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadStackSettings, STACK_DEFAULTS } from '../../infra/stack/stack-settings';
import { DEFAULTS, loadConfig, PROJECT_ROOT } from '../../lib/config';

/** The project's own .ts and .js files outside test/ and bench/ (nothing installed, built or generated). */
function sourceFiles(folder = PROJECT_ROOT): string[] {
  const skipped = new Set(['node_modules', 'test', 'bench', 'build', 'dist', 'coverage']);
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('.') || skipped.has(entry.name) ? [] : sourceFiles(full);
    return /\.(ts|js)$/.test(entry.name) ? [path.relative(PROJECT_ROOT, full)] : [];
  });
}

test('process.env is read in lib/config.ts only (tests, benchmarks and the entry point in bin/ aside)', () => {
  const readers = sourceFiles().filter((file) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8').includes('process.env'));
  // The entry point may hand the environment over (or load a .env file into it); nothing else reads it.
  expect(readers.filter((file) => !file.startsWith(`bin${path.sep}`))).toEqual(['lib/config.ts']);
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
