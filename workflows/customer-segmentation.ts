/**
 * customerSegmentation: workbook → (customer, invoice) pairs → purchase counts → Kafka →
 * classification → MySQL → reconciliation. Each step is its own activity, so the Temporal UI
 * shows which one runs, retries only that one, and a reset can restart from any of them.
 *
 * Orchestration only: every read and write happens in the activities, and what passes through
 * this history is a run id, counts and offset ranges, never rows.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SegmentationActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import { SEGMENTATION_STATUS, SEGMENTATION_STEP } from '../lib/search-attributes';
import { resolveInput, type SegmentationInput } from './segmentation-input';
import { progressQuery, STEPS, STEP_TITLES, type SegmentationProgress, type StepName } from './segmentation-progress';
import { describeProgress } from './describe-progress';

/** Infrastructure trouble (Kafka or MySQL down, a worker killed) is retried until it clears. */
const retry: ActivityOptions['retry'] = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** Long steps heartbeat; a missed heartbeat means the worker died and another attempt starts. */
const longStep: ActivityOptions = { startToCloseTimeout: '1h', heartbeatTimeout: '20s', retry };
const shortStep: ActivityOptions = { startToCloseTimeout: '2m', retry };

const activities = proxyActivities<SegmentationActivities>(longStep);
const bookkeeping = proxyActivities<SegmentationActivities>(shortStep);

export async function customerSegmentation(rawInput: SegmentationInput): Promise<SegmentationProgress> {
  const runId = workflowInfo().workflowId;
  const progress: SegmentationProgress = {
    runId,
    status: 'running',
    currentStep: null,
    steps: Object.fromEntries(STEPS.map((step) => [step, { status: 'pending' }])) as SegmentationProgress['steps'],
  };
  setHandler(progressQuery, () => progress);
  const show = () => {
    setCurrentDetails(describeProgress(progress));
    upsertSearchAttributes([
      { key: SEGMENTATION_STEP, value: progress.currentStep ?? 'done' },
      { key: SEGMENTATION_STATUS, value: progress.status },
    ]);
  };

  /** Runs one step, keeping the progress, the UI details and the search attributes current. */
  async function step<T>(name: StepName, run: (summary: string) => Promise<T>, counts: (result: T) => Record<string, number>) {
    const started = Date.now();
    progress.currentStep = name;
    progress.steps[name] = { status: 'running', startedAt: new Date(started).toISOString() };
    show();
    const result = await run(name === 'load' ? `Load and clean ${input.file}` : STEP_TITLES[name]);
    progress.steps[name] = {
      status: 'completed',
      startedAt: progress.steps[name].startedAt,
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      counts: counts(result),
    };
    return result;
  }

  const input = resolveInput(rawInput);
  show();
  try {
    await bookkeeping.recordRunStarted.executeWithOptions({ summary: 'Record the run as started' }, [{ runId, ...input }]);

    const dataQuality = await step(
      'load',
      (summary) => activities.loadWorkbook.executeWithOptions({ summary }, [{ runId, file: input.file, sheet: input.sheet }]),
      (report) => ({ rowsRead: report.rowsRead, rowsKept: report.rowsKept }),
    );
    const aggregate = await step(
      'aggregate',
      (summary) => activities.aggregatePurchases.executeWithOptions({ summary }, [{ runId, rowsKept: dataQuality.rowsKept }]),
      (result) => ({ customers: result.customers, purchases: result.purchases }),
    );
    const published = await step(
      'publish',
      (summary) => activities.publishPurchaseCounts.executeWithOptions({ summary }, [{ runId, chunkSize: input.chunkSize }]),
      (result) => ({ messagesPublished: result.messagesPublished, chunks: result.chunks }),
    );
    const classified = await step(
      'classify',
      (summary) =>
        activities.classifyCustomers.executeWithOptions({ summary }, [
          { runId, threshold: input.threshold, ranges: published.ranges },
        ]),
      (result) => ({ customersConsumed: result.customersConsumed, low: result.low, high: result.high }),
    );
    progress.summary = await step(
      'reconcile',
      (summary) =>
        bookkeeping.reconcileRun.executeWithOptions({ summary }, [
          {
            runId,
            dataQuality,
            customers: aggregate.customers,
            purchases: aggregate.purchases,
            messagesPublished: published.messagesPublished,
            customersConsumed: classified.customersConsumed,
          },
        ]),
      (summary) => ({ rowsWritten: summary.rowsWritten, low: summary.low, high: summary.high }),
    );
    progress.status = 'completed';
    progress.currentStep = null;
    show();
    return progress;
  } catch (error) {
    const failedStep = progress.currentStep;
    if (failedStep) progress.steps[failedStep].status = 'failed';
    progress.status = 'failed';
    progress.error = rootMessage(error);
    show();
    await bookkeeping.recordRunFailed.executeWithOptions({ summary: 'Record the run as failed' }, [
      { runId, step: failedStep, error: progress.error },
    ]);
    throw error;
  }
}

/** The message a person needs: the activity's own error, not the "activity failed" wrapper. */
function rootMessage(error: unknown): string {
  let current = error;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  if (current instanceof ApplicationFailure && current.type) return `${current.type}: ${current.message}`;
  return current instanceof Error ? current.message : String(error);
}
