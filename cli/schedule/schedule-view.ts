/**
 * A schedule as `segment schedule describe` shows it: when it fires (as cron text, in its zone),
 * what it starts, its policies, the next slots with the workbook each will read, and the recent
 * runs with how they ended.
 */
import type { Client, ScheduleDescription } from '@temporalio/client';
import type { AppConfig } from '../../lib/config';
import { fillDatePlaceholders } from '../../lib/workbook-file-pattern';
import { SEGMENTATION_STATUS } from '../../lib/search-attributes';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { printTable } from '../print-table';
import { cronText } from './cron-text';
import { formatDuration, workbooks } from './nightly-schedule';
import { formatInZone } from './zoned-time';

export interface ScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  /** One cron expression per calendar of the spec. */
  cron: string[];
  timezone: string;
  workflowType: string;
  taskQueue: string;
  input: SegmentationInput;
  runTimeout: string;
  overlap: string;
  catchupWindow: string;
  pauseOnFailure: boolean;
  nextRuns: Array<{ at: string; local: string; file: string }>;
  recentRuns: Array<{ workflowId: string; scheduledAt: string; local: string; status: string }>;
  actionsTaken: number;
  skippedForOverlap: number;
  missedCatchupWindow: number;
  temporalUi: string;
}

export async function scheduleView(client: Client, config: AppConfig, description: ScheduleDescription, nextRuns = 3): Promise<ScheduleView> {
  const { action, spec, policies, state, info } = description;
  const timezone = spec.timezone ?? 'UTC';
  const input = (action.args?.[0] ?? {}) as SegmentationInput;
  const recentRuns = await Promise.all(
    info.recentActions.map(async (recent) => ({
      workflowId: recent.action.workflow.workflowId,
      scheduledAt: recent.scheduledAt.toISOString(),
      local: formatInZone(recent.scheduledAt, timezone),
      status: await runStatus(client, recent.action.workflow.workflowId),
    })),
  );
  return {
    scheduleId: description.scheduleId,
    paused: state.paused,
    note: state.note,
    cron: (spec.calendars ?? []).map(cronText),
    timezone,
    workflowType: action.workflowType,
    taskQueue: action.taskQueue,
    input,
    runTimeout: formatDuration(action.workflowRunTimeout),
    overlap: policies.overlap ?? 'SKIP',
    catchupWindow: formatDuration(policies.catchupWindow),
    pauseOnFailure: policies.pauseOnFailure,
    // Temporal still computes the calendar's next times while paused, but none of them starts a run.
    nextRuns: (state.paused ? [] : info.nextActionTimes).slice(0, nextRuns).map((at) => ({
      at: at.toISOString(),
      local: formatInZone(at, timezone),
      file: fillDatePlaceholders(workbooks(input), at, input.timezone ?? timezone),
    })),
    recentRuns,
    actionsTaken: info.numActionsTaken,
    skippedForOverlap: info.numActionsSkippedOverlap,
    missedCatchupWindow: info.numActionsMissedCatchupWindow,
    temporalUi: temporalUiScheduleLink(config, description.scheduleId),
  };
}

/** How a run the schedule started ended (or where it is): the run's own status where it has one. */
async function runStatus(client: Client, workflowId: string): Promise<string> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    const status = description.status.name;
    const segmentation = description.typedSearchAttributes.get(SEGMENTATION_STATUS);
    // A run that was timed out or terminated never updated its own status: Temporal's is the truth.
    if ((status === 'RUNNING' || status === 'COMPLETED') && segmentation) return segmentation;
    return status.toLowerCase().replace('_', ' ');
  } catch {
    return 'unknown';
  }
}

export function printScheduleView(view: ScheduleView): void {
  const input = JSON.stringify(view.input);
  console.log(`schedule ${view.scheduleId}: ${view.paused ? 'PAUSED' : 'active'}`);
  if (view.note) console.log(`  note:      ${view.note}`);
  console.log(`  when:      ${view.cron.map((cron) => `"${cron}"`).join(', ')} in ${view.timezone}`);
  console.log(`  starts:    ${view.workflowType} on task queue ${view.taskQueue}, input ${input}`);
  console.log(
    `  policies:  run timeout ${view.runTimeout}, overlap ${view.overlap}, catch-up window ${view.catchupWindow}, ` +
      `pause on failure ${view.pauseOnFailure ? 'yes' : 'no'}`,
  );
  console.log(`  so far:    ${view.actionsTaken} runs started, ${view.skippedForOverlap} skipped for overlap, ${view.missedCatchupWindow} missed the catch-up window`);
  if (view.paused) {
    console.log('\nnext runs: none while paused (`segment schedule unpause` starts them again)');
  } else if (view.nextRuns.length) {
    console.log('\nnext runs');
    printTable(view.nextRuns.map((run) => ({ at: run.local, utc: run.at.replace('.000Z', 'Z'), reads: run.file })));
  }
  if (view.recentRuns.length) {
    console.log('\nrecent runs');
    printTable(view.recentRuns.map((run) => ({ workflow: run.workflowId, 'scheduled for': run.local, status: run.status })));
  }
  console.log(`\nTemporal UI: ${view.temporalUi}`);
}

export function temporalUiScheduleLink(config: AppConfig, scheduleId: string): string {
  return `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/schedules/${encodeURIComponent(scheduleId)}`;
}
