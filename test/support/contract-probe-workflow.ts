/**
 * For test/integration/activity-contract.test.ts: a workflow that calls one real activity on the
 * real worker's task queue, stamped with whatever contract version the test asks for
 * (contract-probe-interceptor.ts), and says whether the worker ran it or refused it.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { SegmentationActivities } from '../../activities';
import type { RunStartedInput } from '../../activities/record-run';

export type ProbeOutcome = { outcome: 'ran' } | { outcome: 'refused'; type?: string; message: string; nonRetryable: boolean };

export async function contractProbe(taskQueue: string, call: RunStartedInput): Promise<ProbeOutcome> {
  // Three attempts and no non-retryable types of its own: a refusal must stop at one by itself.
  const { recordRunStarted } = proxyActivities<SegmentationActivities>({ taskQueue, startToCloseTimeout: '1m', retry: { maximumAttempts: 3, initialInterval: '100ms' } });
  try {
    await recordRunStarted(call);
    return { outcome: 'ran' };
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
      return { outcome: 'refused', type: error.cause.type ?? undefined, message: error.cause.message, nonRetryable: error.cause.nonRetryable === true };
    }
    throw error;
  }
}
