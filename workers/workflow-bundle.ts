/**
 * The workflow code as workers run it: one JavaScript file, dist/workflow-bundle.js, that the
 * SDK's bundler (webpack) makes at build time from the compiled workflows (dist/workflows/index.js)
 * and everything they import (`npm run build`, which `npm ci` runs; see build-workflow-bundle.ts).
 * The worker, the workflow tests and the replay tests all load this one file, so what is tested
 * is what runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';

export const WORKFLOW_BUNDLE_PATH = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** What Worker.create({ workflowBundle }) and Worker.runReplayHistory take. */
export interface WorkflowBundle {
  codePath: string;
}

/** There is no bundle: the project was not built (e.g. a `git clone` without `npm ci`). */
export class WorkflowBundleMissingError extends Error {
  constructor(readonly codePath: string) {
    super(`no workflow bundle at ${path.relative(process.cwd(), codePath) || codePath}: run \`npm run build\` first (npm ci and npm install run it)`);
    this.name = 'WorkflowBundleMissingError';
  }
}

/** The bundle the build made; throws WorkflowBundleMissingError when there is none. */
export function loadWorkflowBundle(codePath = WORKFLOW_BUNDLE_PATH): WorkflowBundle {
  if (!fs.existsSync(codePath)) throw new WorkflowBundleMissingError(codePath);
  return { codePath };
}
