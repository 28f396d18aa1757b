/**
 * Runs the real workflow on a synthetic export: a run loads a tiny workbook and completes; its
 * staged pairs are then replaced by the synthetic export's, and the run is reset to just after its
 * load (what "Reset" in the Temporal UI does), so aggregate, publish, classify and reconcile run
 * again, for real, on the worker processes, under the same run id.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { AppConfig } from '../../lib/config';
import { customerSegmentation } from '../../workflows';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { stageSyntheticExport, type SyntheticExport } from './synthetic-customers';

export interface SyntheticRun {
  workflowId: string;
  /** The execution the reset started: its history holds the steps that ran on the synthetic export. */
  execution: string;
  result: SegmentationProgress;
}

export async function runOnSyntheticExport(
  client: Client,
  db: Knex,
  config: AppConfig,
  input: SegmentationInput,
  data: SyntheticExport,
): Promise<SyntheticRun> {
  const workflowId = `scale-bench-${randomBytes(4).toString('hex')}`;
  const first = await client.workflow.start(customerSegmentation, { taskQueue: config.taskQueue, workflowId, args: [input] });
  const { runId } = await first.result();
  await stageSyntheticExport(db, runId, data);

  const history = await first.fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Map(events.filter((event) => event.activityTaskScheduledEventAttributes).map((event) => [String(event.eventId), event]));
  const isLoad = (event: (typeof events)[number]) =>
    scheduled.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name ===
    'loadWorkbookPart';
  const loads = events.map((event, index) => (event.activityTaskCompletedEventAttributes && isLoad(event) ? index : -1));
  const lastLoad = Math.max(...loads);
  const resetPoint = events.slice(lastLoad).find((event) => event.workflowTaskCompletedEventAttributes);
  if (!resetPoint) throw new Error(`no workflow task after the load of ${workflowId}`);
  const reset = await client.workflowService.resetWorkflowExecution({
    namespace: config.temporalNamespace,
    workflowExecution: { workflowId, runId: first.firstExecutionRunId },
    reason: 'scale bench: the synthetic export is staged',
    workflowTaskFinishEventId: resetPoint.eventId,
    requestId: `reset-${workflowId}`,
  });
  const execution = reset.runId;
  const result: SegmentationProgress = await client.workflow.getHandle(workflowId, execution).result();
  if (result.runId !== runId) throw new Error(`the reset run has key ${result.runId}, not ${runId}`);
  return { workflowId, execution, result };
}

/** Which workers ran the classify activities of an execution (their identities, pid@host). */
export async function classifyWorkers(client: Client, workflowId: string, execution: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId, execution).fetchHistory();
  const events = history.events ?? [];
  const classify = new Set(
    events
      .filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'classifyCustomers')
      .map((event) => String(event.eventId)),
  );
  return events
    .filter((event) => event.activityTaskStartedEventAttributes && classify.has(String(event.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((event) => event.activityTaskStartedEventAttributes!.identity ?? '?');
}
