/**
 * Live progress of a run, as `segment run --wait` and `segment status` show it: the workflow's
 * `progress` query (which step, per-step counts) plus the running activity's latest heartbeat
 * (rows read, chunks published, rows committed), read from the workflow's description.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import { progressQuery, STEPS, type SegmentationProgress, type StepName } from '../workflows/segmentation-progress';

export interface StepBar {
  step: StepName;
  value: number;
  total: number;
  detail: string;
}

export interface RunSnapshot {
  workflowStatus: string;
  progress?: SegmentationProgress;
  bars: StepBar[];
}

const ACTIVITY_STEP: Record<string, StepName> = {
  loadWorkbook: 'load',
  aggregatePurchases: 'aggregate',
  publishPurchaseCounts: 'publish',
  classifyCustomers: 'classify',
  reconcileRun: 'reconcile',
};

export async function snapshot(handle: WorkflowHandle): Promise<RunSnapshot> {
  const description = await handle.describe();
  let progress: SegmentationProgress | undefined;
  try {
    progress = await handle.query(progressQuery);
  } catch {
    // Not started by a worker yet, or failed before its first task.
  }
  const heartbeats = new Map<StepName, Record<string, unknown>>();
  for (const activity of description.raw.pendingActivities ?? []) {
    const step = ACTIVITY_STEP[activity.activityType?.name ?? ''];
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (step && payload) heartbeats.set(step, defaultPayloadConverter.fromPayload(payload));
  }
  return { workflowStatus: description.status.name, progress, bars: progress ? STEPS.map((step) => bar(step, progress!, heartbeats.get(step))) : [] };
}

function bar(step: StepName, progress: SegmentationProgress, heartbeat: Record<string, any> | undefined): StepBar {
  const { status, counts = {} } = progress.steps[step];
  const done = status === 'completed';
  const customers = progress.steps.aggregate.counts?.customers ?? 0;
  const figures = (values: Record<string, number>) =>
    Object.entries(values)
      .map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`)
      .join(', ');
  if (done) return { step, value: 1, total: 1, detail: figures(counts) };
  if (status !== 'running' || !heartbeat) return { step, value: 0, total: 1, detail: status };
  switch (step) {
    case 'load':
      return {
        step,
        value: heartbeat.bytesRead ?? 0,
        total: heartbeat.totalBytes || 1,
        detail: figures({ rowsRead: heartbeat.report?.rowsRead ?? 0, rowsKept: heartbeat.report?.rowsKept ?? 0 }),
      };
    case 'publish':
      return {
        step,
        value: heartbeat.messagesPublished ?? 0,
        total: heartbeat.customers || 1,
        detail: figures({ messagesPublished: heartbeat.messagesPublished ?? 0, chunks: heartbeat.chunks ?? 0 }),
      };
    case 'classify':
      return {
        step,
        value: heartbeat.messagesConsumed ?? 0,
        total: customers || 1,
        detail: figures({ messagesConsumed: heartbeat.messagesConsumed ?? 0 }),
      };
    default:
      return { step, value: 0, total: 1, detail: 'running' };
  }
}
