/**
 * `npm run build:workflows`: bundles the workflows now, e.g. in a deploy step, so the first
 * worker start does not pay for it. Never required: workers build a missing or stale bundle
 * themselves (workers/workflow-bundle.ts).
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import { buildWorkflowBundle, workflowBundleInputs } from './workflow-bundle';

async function main(): Promise<void> {
  const started = Date.now();
  const inputs = workflowBundleInputs();
  const { codePath } = await buildWorkflowBundle(inputs);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`workflow bundle ${inputs.hash}: ${inputs.files.length} source files -> ${path.relative(PROJECT_ROOT, codePath)} in ${seconds}s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
