/**
 * Live progress of a run, as `segment run --wait` and `segment status` show it: the workflow's
 * `progress` query (which step, per-step counts) plus the running activities' latest heartbeats
 * (bytes and rows read, chunks published, messages consumed), read from the workflow's
 * description. A step that fans out (several sheets, several partition groups) adds up its
 * activities' heartbeats.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import type { ClassifyHeartbeat } from '../activities/classify-customers';
import type { LoadCheckpoint } from '../activities/load-workbook';
import type { PublishCheckpoint } from '../activities/publish-purchase-counts';
import type { SegmentationActivities } from '../activities';
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

interface StepHeartbeats {
  load: LoadCheckpoint[];
  publish: PublishCheckpoint[];
  classify: ClassifyHeartbeat[];
}

/** Which step each heartbeating activity belongs to. */
const HEARTBEATING: Partial<Record<keyof SegmentationActivities, keyof StepHeartbeats>> = {
  loadWorkbookPart: 'load',
  publishPurchaseCounts: 'publish',
  classifyCustomers: 'classify',
};

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
  const heartbeats: StepHeartbeats = { load: [], publish: [], classify: [] };
  for (const activity of description.raw.pendingActivities ?? []) {
    const step = HEARTBEATING[activity.activityType?.name as keyof SegmentationActivities];
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (step && payload) heartbeats[step].push(defaultPayloadConverter.fromPayload(payload) as never);
  }
  return { workflowStatus: description.status.name, progress, bars: progress ? STEPS.map((step) => bar(step, progress!, heartbeats)) : [] };
}

const figures = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`)
    .join(', ');
const sum = <T>(items: T[], value: (item: T) => number) => items.reduce((total, item) => total + value(item), 0);

function bar(step: StepName, progress: SegmentationProgress, heartbeats: StepHeartbeats): StepBar {
  const { status, counts = {} } = progress.steps[step];
  if (status === 'completed') return { step, value: 1, total: 1, detail: figures(counts) };
  if (status !== 'running') return { step, value: 0, total: 1, detail: status === 'failed' ? `failed: ${progress.steps[step].error ?? ''}` : status };
  switch (step) {
    case 'load': {
      // Each sheet counts as one share of the bar: the finished ones whole, the running ones by bytes read.
      const sheets = sum(progress.files ?? [], (file) => file.sheets.length);
      if (sheets === 0) break;
      const running = heartbeats.load;
      return {
        step,
        value: Math.round(1000 * ((counts.sheetsLoaded ?? 0) + sum(running, (part) => part.bytesRead / (part.totalBytes || 1)))),
        total: 1000 * sheets,
        detail: figures({
          rowsRead: (counts.rowsRead ?? 0) + sum(running, (part) => part.report.rowsRead),
          rowsKept: (counts.rowsKept ?? 0) + sum(running, (part) => part.report.rowsKept),
        }),
      };
    }
    case 'publish': {
      // The finished slices' counts, and the running ones' heartbeats.
      const published = (counts.messagesPublished ?? 0) + sum(heartbeats.publish, (slice) => slice.messagesPublished);
      return {
        step,
        value: published,
        total: progress.steps.aggregate.counts?.customers || 1,
        detail: figures({ messagesPublished: published }),
      };
    }
    case 'classify': {
      const consumed = (counts.messagesConsumed ?? 0) + sum(heartbeats.classify, (group) => group.messagesConsumed);
      return {
        step,
        value: consumed,
        total: progress.steps.aggregate.counts?.customers || 1,
        detail: figures({ messagesConsumed: consumed }),
      };
    }
  }
  return { step, value: 0, total: 1, detail: 'running' };
}
