/**
 * The activities as the workflow calls them, with their timeouts and retry policy. The retry
 * policy's non-retryable types come from the failure policy (lib/errors.ts).
 */
import { ActivityCancellationType, proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import type { SegmentationActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import type { ResolvedInput } from './segmentation-input';

export type StepActivities = ActivityInterfaceFor<SegmentationActivities>;

export function activitiesFor(input: ResolvedInput): { steps: StepActivities; bookkeeping: StepActivities; notifications: StepActivities } {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: input.maxAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
  return {
    /**
     * Long steps heartbeat at least every few seconds: a missed heartbeat means the worker died and
     * another attempt starts (resuming from the last heartbeat), and a cancel reaches the step
     * through it; the workflow waits until the step has actually stopped.
     */
    steps: proxyActivities<SegmentationActivities>({
      startToCloseTimeout: '2h',
      heartbeatTimeout: '15s',
      retry,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    bookkeeping: proxyActivities<SegmentationActivities>({ startToCloseTimeout: '1m', retry }),
    /**
     * A notification retries on its own terms, not the steps' maxAttempts: backoff from 2 s up to
     * 5 min, for at most an hour (a receiver down that long has missed the moment). One post takes
     * at most 10 s (activities/notify-run.ts); a refusal (4xx) is not retried.
     */
    notifications: proxyActivities<SegmentationActivities>({
      startToCloseTimeout: '30s',
      scheduleToCloseTimeout: '1h',
      retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
    }),
  };
}
