/**
 * The second half of `npm run build`, after tsc: bundles the compiled workflows into
 * dist/workflow-bundle.js with the SDK's bundleWorkflowCode, as its production sample does.
 * Bundling takes a few seconds, so a bundle newer than every file tsc wrote and than the last
 * `npm install` (node_modules/.package-lock.json: the SDK's own workflow code goes in too) is
 * kept: `npm run build` with nothing changed takes about a second.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PROJECT_ROOT } from '../lib/config';
import { WORKFLOW_BUNDLE_PATH } from './workflow-bundle';

const DIST_DIR = path.join(PROJECT_ROOT, 'dist');
const COMPILED_WORKFLOWS = path.join(DIST_DIR, 'workflows', 'index.js');
/** Workflow interceptors go into the bundle: a worker given a prebuilt bundle ignores its own workflowModules. */
const COMPILED_WORKFLOW_INTERCEPTORS = [path.join(DIST_DIR, 'workflows', 'contract-header-interceptor.js')];
const INSTALLED_PACKAGES = path.join(PROJECT_ROOT, 'node_modules', '.package-lock.json');

async function main(): Promise<void> {
  const relativeBundlePath = path.relative(PROJECT_ROOT, WORKFLOW_BUNDLE_PATH);
  if (bundleIsCurrent()) {
    console.log(`workflow bundle up to date: ${relativeBundlePath}`);
    return;
  }
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: COMPILED_WORKFLOWS,
    workflowInterceptorModules: COMPILED_WORKFLOW_INTERCEPTORS,
    // webpack's report is a page of INFO lines; problems still show.
    logger: new DefaultLogger('WARN'),
  });
  writeAtomically(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle built: ${relativeBundlePath} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/** True when the bundle is newer than every compiled file and than the installed packages. */
function bundleIsCurrent(): boolean {
  if (!fs.existsSync(WORKFLOW_BUNDLE_PATH) || !fs.existsSync(INSTALLED_PACKAGES)) return false;
  const bundleTime = fs.statSync(WORKFLOW_BUNDLE_PATH).mtimeMs;
  const inputs = [INSTALLED_PACKAGES, ...compiledFiles(DIST_DIR)];
  return inputs.every((file) => fs.statSync(file).mtimeMs < bundleTime);
}

function compiledFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => file !== WORKFLOW_BUNDLE_PATH);
}

/** Written aside, then renamed: a worker starting meanwhile sees the whole file or none. */
function writeAtomically(file: string, content: string): void {
  const aside = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(aside, content);
  fs.renameSync(aside, file);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
