/**
 * The workflow code as workers run it: one JavaScript file that Temporal's bundler (webpack)
 * makes from workflows/index.ts and everything it imports. Bundling takes about 1.5 s, most of a
 * worker's start, so it is done once and kept in build/workflow-bundle/ (gitignored); the worker
 * and the replay tests load it through `loadWorkflowBundle`, which rebuilds it when it is
 * missing or stale. The sources stay the only truth: the bundle is named after a hash of its
 * inputs, so a changed input simply means a bundle that does not exist yet.
 *
 * Inputs: every file workflows/index.ts reaches through imports (type-only imports excluded:
 * they leave no code), the version of every package they import, and the bundler's version.
 *
 *   npm run build:workflows   builds it ahead of time (e.g. in a deploy step); never required
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PROJECT_ROOT } from '../lib/config';

export const WORKFLOWS_ENTRY = path.join(PROJECT_ROOT, 'workflows', 'index.ts');
export const BUNDLE_DIR = path.join(PROJECT_ROOT, 'build', 'workflow-bundle');
/** Bump when the way the bundle is built changes (bundler options), to retire old bundles. */
const BUNDLE_RECIPE = 1;

export interface WorkflowBundleInputs {
  hash: string;
  /** Source files, relative to the project. */
  files: string[];
  /** Package name → version, for the packages those files import and the bundler. */
  packages: Record<string, string>;
}

/** What Worker.create({ workflowBundle }) and Worker.runReplayHistory take. */
export interface WorkflowBundle {
  codePath: string;
}

/** The current bundle, built first if the inputs changed since the last build (or there is none). */
export async function loadWorkflowBundle(): Promise<WorkflowBundle> {
  const inputs = workflowBundleInputs();
  const codePath = bundlePath(inputs.hash);
  if (!fs.existsSync(codePath)) await buildWorkflowBundle(inputs);
  return { codePath };
}

/** Bundles the workflows now and records what went in beside the bundle (workflow-bundle.json). */
export async function buildWorkflowBundle(inputs = workflowBundleInputs()): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_ENTRY,
    // webpack's report is a page of INFO lines; problems still show.
    logger: new DefaultLogger('WARN'),
  });
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  const codePath = bundlePath(inputs.hash);
  // Written aside then renamed: a worker starting meanwhile sees the whole file or none.
  writeAtomically(codePath, code);
  writeAtomically(path.join(BUNDLE_DIR, 'workflow-bundle.json'), `${JSON.stringify({ ...inputs, builtAt: new Date().toISOString() }, null, 2)}\n`);
  for (const file of fs.readdirSync(BUNDLE_DIR)) {
    if (/^workflow-bundle-\w+\.js$/.test(file) && path.join(BUNDLE_DIR, file) !== codePath) fs.rmSync(path.join(BUNDLE_DIR, file), { force: true });
  }
  return { codePath };
}

/** Follows the imports from workflows/index.ts (or `entry`) and hashes what it finds; a few milliseconds. */
export function workflowBundleInputs(entry = WORKFLOWS_ENTRY, root = PROJECT_ROOT): WorkflowBundleInputs {
  const files = new Set<string>();
  const packages = new Set<string>(['@temporalio/worker']);
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of importedModules(fs.readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) pending.push(resolveSource(path.resolve(path.dirname(file), specifier), path.relative(root, file)));
      else packages.add(packageName(specifier));
    }
  }

  const relativeFiles = [...files].map((file) => path.relative(root, file)).sort();
  const versions = Object.fromEntries([...packages].sort().map((name) => [name, packageVersion(root, name)]));
  const hash = crypto.createHash('sha256').update(`recipe ${BUNDLE_RECIPE}\n`);
  for (const file of relativeFiles) hash.update(`${file}\n`).update(fs.readFileSync(path.join(root, file))).update('\n');
  hash.update(JSON.stringify(versions));
  return { hash: hash.digest('hex').slice(0, 16), files: relativeFiles, packages: versions };
}

/** Module specifiers a TypeScript file imports for code (`import type` and `export type` leave none). */
function importedModules(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(import|export)\s+(type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '...', export { y } from '...'
    /\bimport\s*()()['"]([^'"]+)['"]/g, // import '...'
    /\b(require|import)\s*\(\s*()['"]([^'"]+)['"]\s*\)/g, // require('...'), import('...')
  ];
  for (const pattern of patterns) {
    for (const [, , typeOnly, specifier] of source.matchAll(pattern)) if (!typeOnly) found.push(specifier);
  }
  return found;
}

function resolveSource(base: string, importer: string): string {
  for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), base]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${importer} imports ${base}, which is not a file the bundle can include`);
}

/** '@temporalio/workflow/lib/x' → '@temporalio/workflow'; 'ms' → 'ms'. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function packageVersion(root: string, name: string): string {
  if (name.startsWith('node:')) return process.version;
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function bundlePath(hash: string): string {
  return path.join(BUNDLE_DIR, `workflow-bundle-${hash}.js`);
}

function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content);
  fs.renameSync(temporary, file);
}
