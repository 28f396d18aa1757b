/**
 * Workflow-side, for test/integration/activity-contract.test.ts only: stamps the probe's activity
 * call with the contract version in the run's memo (`stamp`), as workflow code of that version
 * would; without one, no header at all, as workflow code from before the header.
 */
import { defaultPayloadConverter, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { CONTRACT_HEADER } from '../../lib/workflow-contract';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        const memo = workflowInfo().memo ?? {};
        if (!('stamp' in memo)) return next(input);
        return next({ ...input, headers: { ...input.headers, [CONTRACT_HEADER]: defaultPayloadConverter.toPayload(memo.stamp) } });
      },
    },
  ],
});
