/**
 * Workflow-side half of the contract check (lib/workflow-contract.ts): every activity this
 * workflow code schedules carries its contract version in a header, which the worker that picks
 * the activity up checks before running it (workers/activity-contract-check.ts). A header is no
 * command: histories recorded before it replay unchanged, and it needs no patch.
 *
 * Registered in the workflow bundle by workers/build-workflow-bundle.ts (a prebuilt bundle
 * ignores the worker's own workflow interceptor modules).
 */
import { defaultPayloadConverter, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { CONTRACT_HEADER, WORKFLOW_CONTRACT_VERSION } from '../lib/workflow-contract';

const stamp = defaultPayloadConverter.toPayload(WORKFLOW_CONTRACT_VERSION);

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity: (input, next) => next({ ...input, headers: { ...input.headers, [CONTRACT_HEADER]: stamp } }),
      scheduleLocalActivity: (input, next) => next({ ...input, headers: { ...input.headers, [CONTRACT_HEADER]: stamp } }),
    },
  ],
});
