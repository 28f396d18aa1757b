/**
 * `segment retry|approve|abort WORKFLOW_ID`: an operator's decision for a run whose step failed
 * for good or whose audit held it (only such a run can be approved), sent as the workflow's `operatorDecision` Update (the same one the
 * Temporal UI can send). The workflow's validator refuses a decision it cannot take (e.g. the
 * run is not waiting), and that refusal is printed as it is.
 */
import os from 'node:os';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import { operatorDecisionUpdate, type OperatorAction } from '../../workflows/operator-decision';
import { connectClient } from '../temporal-client';
import { exitCode, watchRun } from './run';

export async function operatorDecisionCommand(
  action: OperatorAction,
  workflowId: string,
  options: { reason?: string; by?: string; wait?: boolean; json?: boolean },
): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(workflowId);
    let receipt;
    try {
      receipt = await handle.executeUpdate(operatorDecisionUpdate, {
        args: [{ action, reason: options.reason, by: options.by ?? os.userInfo().username }],
      });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new Error(`${workflowId} refused ${action}: ${error.cause?.message ?? error.message}`, { cause: error });
      throw error;
    }
    const said = {
      retry: `${workflowId}: retrying from step ${receipt.retryFrom} (step ${receipt.step} had failed)`,
      approve: `${workflowId}: approved; publishing it as it is`,
      abort: `${workflowId}: aborted`,
    }[action];
    if (!options.wait) {
      if (options.json) console.log(JSON.stringify({ workflowId, ...receipt }));
      else console.log(said);
      return 0;
    }
    if (!options.json) console.log(said);
    return exitCode(await watchRun(handle, config, { json: options.json }));
  } finally {
    await close();
  }
}
