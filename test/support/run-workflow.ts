/** Starting a run and reading back what it left in Temporal and MySQL, for the integration tests. */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActivityFailure, ApplicationFailure, type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Knex } from 'knex';
import type { CustomerRow } from '../../activities/purchase-count-message';
import type { AppConfig } from '../../lib/config';
import { customerSegmentation } from '../../workflows';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';

export function startSegmentation(client: Client, config: AppConfig, input: SegmentationInput, prefix = 'test') {
  return client.workflow.start(customerSegmentation, {
    taskQueue: config.taskQueue,
    workflowId: `${prefix}-${randomBytes(4).toString('hex')}`,
    args: [input],
  });
}

/** Starts a run that must fail at once (no operator wait) and returns its innermost failure. */
export async function failedRun(
  client: Client,
  config: AppConfig,
  input: SegmentationInput,
  prefix: string,
): Promise<{ workflowId: string; cause: ApplicationFailure }> {
  const handle = await startSegmentation(client, config, { operatorWait: 0, ...input }, prefix);
  const cause = await innermostFailure(handle);
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return { workflowId: handle.workflowId, cause };
}

/** Expects the run to fail and returns the failure under its activity failures (the step's own error). */
export async function innermostFailure(handle: { result(): Promise<unknown> }): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  let cause = (error as WorkflowFailedError).cause;
  while (cause instanceof ActivityFailure) cause = cause.cause;
  return cause as ApplicationFailure;
}

/** A run's result; a run a schedule has still to start (a backfill's later night) is waited for. */
export async function scheduledRunResult(client: Client, workflowId: string): Promise<SegmentationProgress> {
  for (;;) {
    try {
      return await client.workflow.getHandle(workflowId).result();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      await sleep(200);
    }
  }
}

export interface HistoryFacts {
  history: temporal.api.history.v1.IHistory;
  /** Size of the history as the server stores it (protobuf), in bytes. */
  bytes: number;
  events: number;
  /** Highest attempt each activity type reached. */
  attempts: Record<string, number>;
}

export async function historyFacts(client: Client, workflowId: string): Promise<HistoryFacts> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const attempts: Record<string, number> = {};
  const scheduled = new Map<string, string>();
  for (const event of history.events ?? []) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = scheduled.get(String(started.scheduledEventId)) ?? '?';
      attempts[type] = Math.max(attempts[type] ?? 0, started.attempt ?? 1);
    }
  }
  return {
    history,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    events: history.events?.length ?? 0,
    attempts,
  };
}

export interface SegmentRow {
  CustomerID: number;
  PurchaseCount: number;
  FrequencyCategory: string;
}

export async function segments(db: Knex): Promise<SegmentRow[]> {
  return await db('customer_segments').orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
}

/** A customer's RFM columns (README "RFM segments"), as customer_segments and the history hold them. */
export type RfmRow = CustomerRow;

const RFM_COLUMNS = ['CustomerID', 'PurchaseCount', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'];

/** customer_segments' RFM columns, by CustomerID; with `runId`, that run's own rows in the history instead. */
export async function rfmSegments(db: Knex, runId?: string): Promise<RfmRow[]> {
  const rows = runId === undefined ? db('customer_segments') : db('customer_segment_history').where({ RunId: runId });
  return await rows.orderBy('CustomerID').select(RFM_COLUMNS);
}
