/**
 * The nightly run as a Temporal Schedule: its defaults, and why each one is what it is. The
 * schedule starts `customerSegmentation` with an input that names the night's workbook by a
 * template (`exports/online-retail-{date}.xlsx`), filled in by the run from its slot in the
 * schedule's time zone.
 */
import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { customerSegmentation } from '../../workflows';
import { resolveInput, type SegmentationInput } from '../../workflows/segmentation-input';

export const NIGHTLY_DEFAULTS = {
  scheduleId: 'customer-segmentation-nightly',
  /** 02:00 every day, in `timezone`. */
  cron: '0 2 * * *',
  timezone: 'UTC',
  /**
   * A run still going when the next slot comes (a slow night, a triggered or caught-up run) makes
   * the next one wait and then start, rather than dropping that night (SKIP), running two at once
   * (ALLOW_ALL) or killing a run an operator may be about to retry (CANCEL_OTHER).
   */
  overlap: ScheduleOverlapPolicy.BUFFER_ONE,
  /** Temporal down over 02:00 but back within a day: the missed night still runs. */
  catchupWindow: '1 day',
  /**
   * A run whose step fails for good (typically: the night's file is not there) waits this long
   * for `segment retry` or `abort`, through the working morning, then fails, which pauses the
   * schedule (pauseOnFailure) until someone looks.
   */
  operatorWait: '12h',
  /**
   * The backstop for a run that is stuck for good: it is ended before the next night even if it
   * started four hours late. Longer than the operator wait, so a waiting run ends on its own
   * terms (failed, recorded in MySQL) rather than being cut off by Temporal.
   */
  runTimeout: '20h',
} as const;

export interface NightlySchedule {
  scheduleId: string;
  cron: string;
  timezone: string;
  taskQueue: string;
  /** The workflow input; carries the schedule's `timezone` and `operatorWait`. */
  input: SegmentationInput;
  runTimeout: string;
}

/** Checks what the schedule would start, now rather than at 02:00. */
export function checkNightlySchedule(schedule: NightlySchedule): void {
  resolveInput(schedule.input);
  const runTimeoutMs = durationMs('--run-timeout', schedule.runTimeout);
  const operatorWaitMs = durationMs('--operator-wait', schedule.input.operatorWait ?? NIGHTLY_DEFAULTS.operatorWait);
  if (operatorWaitMs >= runTimeoutMs) {
    throw new Error(
      `--operator-wait (${schedule.input.operatorWait}) must be shorter than --run-timeout (${schedule.runTimeout}): ` +
        'a run waiting for an operator would be cut off by Temporal, and MySQL would never hear it ended',
    );
  }
}

export function nightlyScheduleOptions(schedule: NightlySchedule): ScheduleOptions {
  return {
    scheduleId: schedule.scheduleId,
    spec: { cronExpressions: [schedule.cron], timezone: schedule.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: customerSegmentation,
      taskQueue: schedule.taskQueue,
      // Each run's id is this plus its slot, e.g. customer-segmentation-nightly-2026-11-25T02:00:00Z.
      workflowId: schedule.scheduleId,
      args: [schedule.input],
      workflowRunTimeout: durationMs('--run-timeout', schedule.runTimeout),
      staticSummary: `Nightly segmentation of ${workbooks(schedule.input)}`,
    },
    policies: { overlap: NIGHTLY_DEFAULTS.overlap, catchupWindow: NIGHTLY_DEFAULTS.catchupWindow, pauseOnFailure: true },
    state: { note: scheduleNote(schedule) },
  };
}

/** What the schedule does, in one line: its note in the UI while it is active. */
export function scheduleNote(schedule: Pick<NightlySchedule, 'cron' | 'timezone' | 'input'>): string {
  return (
    `Customer segmentation at "${schedule.cron}" ${schedule.timezone}: reads ${workbooks(schedule.input)} from DATA_DIR ` +
    '({date} = the day of the run there), classifies every customer Low or High Frequency and publishes customer_segments. ' +
    'Made with `segment schedule create`.'
  );
}

export function workbooks(input: SegmentationInput): string {
  return input.file ?? input.files?.join(', ') ?? (input.mode === 'append' ? 'no file (the invoice ledger, its window re-applied)' : '?');
}

export function durationMs(option: string, value: string | number): number {
  let ms: number | undefined;
  try {
    ms = msToNumber(value as never);
  } catch {
    ms = undefined;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) throw new Error(`${option} must be a duration such as 12h, 30m or 1 day, got "${value}"`);
  return ms;
}

/** 72000000 → "20h": a duration in the largest unit that divides it. */
export function formatDuration(duration: Duration | undefined): string {
  if (duration === undefined) return 'none';
  const ms = msToNumber(duration);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
