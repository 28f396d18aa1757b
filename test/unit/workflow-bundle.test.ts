/**
 * Workers run the workflow bundle that `npm run build` made from the compiled workflows (the
 * global set-up builds before any test), and a project that was never built says so, naming
 * `npm run build`, instead of failing somewhere deeper.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { loadWorkflowBundle, WORKFLOW_BUNDLE_PATH, WorkflowBundleMissingError } from '../../workers/workflow-bundle';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('the bundle is dist/workflow-bundle.js, made from the compiled workflows, with a source map back to the .ts files', () => {
  const { codePath } = loadWorkflowBundle();
  expect(codePath).toBe(path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js'));
  const code = fs.readFileSync(codePath, 'utf8');
  // webpack names each module it bundled by its path (not toContain: a failure would print megabytes).
  expect(code.includes('"./dist/workflows/index.js"')).toBe(true);
  // The bundle's inline source map follows tsc's maps back to the sources: workflow stack traces name .ts lines.
  const inlineMap = /sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)\s*$/.exec(code)?.[1] ?? '';
  const sources = (JSON.parse(Buffer.from(inlineMap, 'base64').toString('utf8')) as { sources: string[] }).sources;
  expect(sources).toContain(path.join(PROJECT_ROOT, 'workflows', 'customer-segmentation.ts'));
  expect(fs.statSync(codePath).mtimeMs).toBeGreaterThanOrEqual(fs.statSync(path.join(PROJECT_ROOT, 'dist', 'workflows', 'index.js')).mtimeMs);
});

test('no bundle: a typed error that names `npm run build`', () => {
  const missing = path.join(scratch, 'nowhere', 'workflow-bundle.js');
  expect(() => loadWorkflowBundle(missing)).toThrow(WorkflowBundleMissingError);
  expect(() => loadWorkflowBundle(missing)).toThrow(/no workflow bundle at .*workflow-bundle\.js: run `npm run build` first/);
});

/** A copy of the built project (package.json, bin/, dist/ less what `leaveOut` names), sharing node_modules. */
function builtProjectCopy(name: string, leaveOut: (file: string) => boolean): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(root);
  fs.copyFileSync(path.join(PROJECT_ROOT, 'package.json'), path.join(root, 'package.json'));
  fs.cpSync(path.join(PROJECT_ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  fs.cpSync(path.join(PROJECT_ROOT, 'dist'), path.join(root, 'dist'), { recursive: true, filter: (source) => !leaveOut(source) });
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

/** `segment ARGS` in `root`, against a Temporal address nothing listens on: no step may need a server. */
function segmentIn(root: string, args: string[]) {
  const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', MYSQL_URL: 'mysql://nobody:nothing@127.0.0.1:1/none', KAFKA_BROKERS: '127.0.0.1:1', METRICS_ADDRESS: 'off' };
  return spawnSync(process.execPath, [path.join(root, 'bin', 'segment.js'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
}

test('a worker started without the bundle fails at once, before connecting, naming `npm run build`', () => {
  const root = builtProjectCopy('no-bundle', (file) => file === WORKFLOW_BUNDLE_PATH);
  const worker = segmentIn(root, ['worker']);
  expect(worker.status).toBe(1);
  expect(worker.stderr).toMatch(/^segment: no workflow bundle at dist\/workflow-bundle\.js: run `npm run build` first/m);
});

test('`segment` in a project that was never built names `npm run build`', () => {
  const root = builtProjectCopy('never-built', () => true);
  const help = segmentIn(root, ['--help']);
  expect(help.status).toBe(1);
  expect(help.stderr).toMatch(/^segment: dist\/cli\/main\.js is missing: run `npm run build` first/m);
});
