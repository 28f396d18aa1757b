/** `segment status WORKFLOW_ID`: the per-step progress of a running or finished run. */
import { WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { printTable } from '../print-table';
import { snapshot } from '../run-progress';
import { connectClient, temporalUiLink } from '../temporal-client';
import { failureMessage, printOutcome, watchRun } from './run';

export async function statusCommand(workflowId: string, options: { json?: boolean; wait?: boolean }): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(workflowId);
    if (options.wait) return (await watchRun(handle, config, options)).status === 'completed' ? 0 : 1;
    const { workflowStatus, progress, bars } = await snapshot(handle);
    if (workflowStatus !== 'RUNNING') {
      // Finished: the same outcome `run --wait` printed.
      const finished = await handle.result().then(
        (result: SegmentationProgress) => ({ result }),
        (error: unknown) => ({ error }),
      );
      if ('result' in finished && finished.result.summary) {
        const { summary } = finished.result;
        printOutcome({ workflowId, status: 'completed', ...summary, temporalUi: temporalUiLink(config, workflowId) }, options.json);
        return 0;
      }
      const error = 'error' in finished && finished.error instanceof WorkflowFailedError ? failureMessage(finished.error) : workflowStatus;
      printOutcome({ workflowId, status: 'failed', error, temporalUi: temporalUiLink(config, workflowId) }, options.json);
      return 1;
    }
    if (options.json) {
      console.log(JSON.stringify({ workflowId, status: 'running', currentStep: progress?.currentStep ?? null, steps: bars }));
      return 0;
    }
    console.log(`${workflowId}: running${progress?.currentStep ? `, step ${progress.currentStep}` : ''}`);
    printTable(bars.map(({ step, value, total, detail }) => ({ step, progress: `${Math.floor((100 * value) / total)}%`, detail })));
    console.log(`Temporal UI: ${temporalUiLink(config, workflowId)}`);
    return 0;
  } finally {
    await close();
  }
}
