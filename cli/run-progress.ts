/**
 * Live progress of a run, as `segment run --wait` and `segment status` show it: the workflow's
 * `progress` query (which step, per-step counts) plus the running activities' latest heartbeats
 * (bytes and rows read, chunks published, messages consumed), read from the workflow's
 * description. A step that fans out (several sheets, several partition groups) adds up its
 * activities' heartbeats.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import type { SegmentationActivities } from '../activities';
import { progressQuery, type SegmentationProgress } from '../workflows/segmentation-progress';
import { STEPS, STEP_TABLE, type StepName } from '../workflows/steps';

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

/** The running activities' latest heartbeats, by the step they belong to. */
type StepHeartbeats = Partial<Record<StepName, unknown[]>>;

/** Which step each heartbeating activity belongs to, from the step table. */
const HEARTBEATING = new Map<keyof SegmentationActivities, StepName>(STEPS.flatMap((step) => (STEP_TABLE[step].heartbeats ? [[STEP_TABLE[step].heartbeats.activity, step] as const] : [])));

const CLOSED_RUN_QUERY_MS = 3_000;

export async function snapshot(handle: WorkflowHandle): Promise<RunSnapshot> {
  const description = await handle.describe();
  let progress: SegmentationProgress | undefined;
  try {
    // A closed run's query is answered by a worker replaying it: with none up, do not hang on it.
    const query = () => handle.query(progressQuery);
    progress = description.status.name === 'RUNNING' ? await query() : await handle.client.withDeadline(Date.now() + CLOSED_RUN_QUERY_MS, query);
  } catch {
    // Not started by a worker yet, failed before its first task, or closed with no worker to ask.
  }
  const heartbeats: StepHeartbeats = {};
  for (const activity of description.raw.pendingActivities ?? []) {
    const step = HEARTBEATING.get(activity.activityType?.name as keyof SegmentationActivities);
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (step && payload) (heartbeats[step] ??= []).push(defaultPayloadConverter.fromPayload(payload));
  }
  return { workflowStatus: description.status.name, progress, bars: progress ? barsOf(progress, heartbeats) : [] };
}

/** Every step's bar; a finished run's result is its final progress, with no heartbeats left to add. */
export function barsOf(progress: SegmentationProgress, heartbeats: StepHeartbeats = {}): StepBar[] {
  return STEPS.map((step) => bar(step, progress, heartbeats));
}

const figures = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`)
    .join(', ');

/** A step's bar: done or not yet started, or while it runs, what the step table makes of its activities' heartbeats. */
function bar(step: StepName, progress: SegmentationProgress, heartbeats: StepHeartbeats): StepBar {
  const { status, counts = {} } = progress.steps[step];
  if (status === 'completed') return { step, value: 1, total: 1, detail: figures(counts) };
  if (status !== 'running') return { step, value: 0, total: 1, detail: status === 'failed' ? `failed: ${progress.steps[step].error ?? ''}` : status };
  const running = STEP_TABLE[step].heartbeats?.bar(progress, counts, heartbeats[step] ?? []);
  if (running) return { step, value: running.value, total: running.total, detail: figures(running.figures) };
  return { step, value: 0, total: 1, detail: 'running' };
}
