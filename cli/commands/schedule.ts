/**
 * `segment schedule create|list|describe|update|pause|unpause|trigger|backfill|delete`: the
 * nightly run as a Temporal Schedule, which needs no person while the nights go well and is
 * visible (and pausable) in the Temporal UI's Schedules page. Defaults and their reasons are in
 * ../schedule/nightly-schedule.ts.
 */
import os from 'node:os';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import { loadConfig, type AppConfig } from '../../lib/config';
import { customerSegmentation } from '../../workflows';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { inputOfFlags, type InputFlagValues } from '../input-flags';
import { printTable } from '../print-table';
import { connectClient, temporalUiLink } from '../temporal-client';
import { cronText, isDaily } from '../schedule/cron-text';
import {
  checkNightlySchedule,
  durationMs,
  formatDuration,
  NIGHTLY_DEFAULTS,
  nightlyScheduleOptions,
  scheduleNote,
  workbooks,
  type NightlySchedule,
} from '../schedule/nightly-schedule';
import { disturbedNights, scheduledTimes, type DisturbedNight } from '../schedule/schedule-times';
import { printScheduleView, scheduleView, type ScheduleView } from '../schedule/schedule-view';
import { checkTimeZone, formatInZone, nextDay, startOfDayInZone } from '../schedule/zoned-time';
import { fillDatePlaceholders } from '../../lib/workbook-file-pattern';

export const SCHEDULE_ACTIONS = ['create', 'list', 'describe', 'update', 'pause', 'unpause', 'trigger', 'backfill', 'delete'] as const;
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];

/** The input flags (cli/input-flags.ts) and the schedule's own. */
export interface ScheduleCommandOptions extends InputFlagValues {
  id?: string;
  cron?: string;
  runTimeout?: string;
  note?: string;
  from?: string;
  to?: string;
  json?: boolean;
}

type Handler = (client: Client, config: AppConfig, options: ScheduleCommandOptions & { id: string }) => Promise<number>;

const YEAR_MS = 366 * 86_400_000;
/** How long `trigger` looks for the run it asked for before saying it is waiting its turn. */
const TRIGGER_WAIT_MS = 10_000;

export async function scheduleCommand(action: ScheduleAction, options: ScheduleCommandOptions): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    return await HANDLERS[action](client, config, { ...options, id: options.id ?? NIGHTLY_DEFAULTS.scheduleId });
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new Error(`no schedule "${options.id ?? NIGHTLY_DEFAULTS.scheduleId}" (see \`segment schedule list\`)`, { cause: error });
    throw error;
  } finally {
    await close();
  }
}

const HANDLERS: Record<ScheduleAction, Handler> = {
  async create(client, config, options) {
    if (!options.file?.length && options.mode !== 'append') {
      throw new Error('schedule create needs --file: the workbook (a template such as data/exports/online-retail-{date}.xlsx); only --mode append may leave it out');
    }
    const timezone = checkTimeZone(options.timezone ?? NIGHTLY_DEFAULTS.timezone);
    const schedule: NightlySchedule = {
      scheduleId: options.id,
      cron: options.cron ?? NIGHTLY_DEFAULTS.cron,
      timezone,
      taskQueue: config.taskQueue,
      input: {
        ...inputOfFlags(options, config),
        timezone,
        operatorWait: options.operatorWait ?? NIGHTLY_DEFAULTS.operatorWait,
      },
      runTimeout: options.runTimeout ?? NIGHTLY_DEFAULTS.runTimeout,
    };
    checkNightlySchedule(schedule);
    const scheduleOptions = nightlyScheduleOptions(schedule);
    if (options.note) scheduleOptions.state = { note: options.note };
    try {
      await client.schedule.create(scheduleOptions);
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) {
        throw new Error(`schedule "${options.id}" exists already: change it with \`segment schedule update\`, or delete it first`, { cause: error });
      }
      throw error;
    }
    return await show(client, config, options, `created schedule ${options.id}`);
  },

  async list(client, config, options) {
    const views: ScheduleView[] = [];
    for await (const summary of client.schedule.list()) {
      if (summary.action?.workflowType !== customerSegmentation.name) continue;
      views.push(await scheduleView(client, config, await client.schedule.getHandle(summary.scheduleId).describe(), 1));
    }
    views.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    if (options.json) {
      console.log(JSON.stringify(views));
      return 0;
    }
    if (views.length === 0) console.log('no customer segmentation schedules (make one with `segment schedule create --file ...`)');
    printTable(
      views.map((view) => {
        const last = view.recentRuns[view.recentRuns.length - 1];
        return {
          schedule: view.scheduleId,
          state: view.paused ? 'paused' : 'active',
          when: `${view.cron.join(', ')} ${view.timezone}`,
          reads: workbooks(view.input),
          'next run': view.paused ? 'none while paused' : (view.nextRuns[0]?.local ?? ''),
          'last run': last ? `${last.local}: ${last.status}` : '',
        };
      }),
    );
    return 0;
  },

  async describe(client, config, options) {
    return await show(client, config, options);
  },

  async update(client, config, options) {
    const handle = client.schedule.getHandle(options.id);
    const timezone = options.timezone === undefined ? undefined : checkTimeZone(options.timezone);
    await handle.update((previous) => {
      const previousInput = (previous.action.args?.[0] ?? {}) as SegmentationInput;
      const input: SegmentationInput = { ...previousInput };
      const given = inputOfFlags({ ...options, file: options.file?.length ? options.file : undefined }, config, previousInput.audit);
      // A new workbook replaces the old one, whether that was one file or several.
      if (given.file !== undefined || given.files !== undefined) {
        delete input.file;
        delete input.files;
      }
      Object.assign(input, given);
      const zone = timezone ?? previous.spec.timezone ?? 'UTC';
      input.timezone = zone;
      const cron = options.cron ?? (previous.spec.calendars ?? []).map(cronText)[0] ?? NIGHTLY_DEFAULTS.cron;
      const runTimeout = options.runTimeout ?? formatDuration(previous.action.workflowRunTimeout);
      checkNightlySchedule({ scheduleId: options.id, cron, timezone: zone, taskQueue: previous.action.taskQueue, input, runTimeout });
      return {
        ...previous,
        spec: options.cron ? { cronExpressions: [options.cron], timezone: zone } : { ...previous.spec, timezone: zone },
        action: {
          ...previous.action,
          args: [input],
          workflowRunTimeout: durationMs('--run-timeout', runTimeout),
          staticSummary: `Nightly segmentation of ${workbooks(input)}`,
        },
        // While paused the note says why; otherwise it says what the schedule now does.
        state: { ...previous.state, note: previous.state.paused ? previous.state.note : scheduleNote({ cron, timezone: zone, input }) },
      };
    });
    return await show(client, config, options, `updated schedule ${options.id}`);
  },

  async pause(client, _config, options) {
    const note = options.note ?? `paused by ${os.userInfo().username} with \`segment schedule pause\``;
    await client.schedule.getHandle(options.id).pause(note);
    say(options, { scheduleId: options.id, paused: true, note }, `paused schedule ${options.id}: no run starts until \`segment schedule unpause\``);
    return 0;
  },

  async unpause(client, _config, options) {
    const handle = client.schedule.getHandle(options.id);
    const note = options.note ?? describedNote(await handle.describe());
    await handle.unpause(note);
    say(options, { scheduleId: options.id, paused: false, note }, `unpaused schedule ${options.id}`);
    return 0;
  },

  async trigger(client, config, options) {
    const handle = client.schedule.getHandle(options.id);
    const before = new Set((await handle.describe()).info.recentActions.map((action) => action.action.workflow.workflowId));
    // The schedule's own overlap policy: with a run still going, this one waits its turn.
    await handle.trigger();
    const deadline = Date.now() + TRIGGER_WAIT_MS;
    for (;;) {
      const { info } = await handle.describe();
      const started = info.recentActions.find((action) => !before.has(action.action.workflow.workflowId));
      if (started) {
        const workflowId = started.action.workflow.workflowId;
        say(options, { scheduleId: options.id, workflowId, status: 'started' }, `started ${workflowId}\nTemporal UI: ${temporalUiLink(config, workflowId)}`);
        return 0;
      }
      if (Date.now() > deadline) {
        const running = info.runningActions.map((action) => action.workflow.workflowId);
        say(options, { scheduleId: options.id, status: 'waiting', behind: running }, `triggered; it starts when ${running.join(', ') || 'the running run'} has ended`);
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  },

  async backfill(client, _config, options) {
    if (!options.from) throw new Error('schedule backfill needs --from YYYY-MM-DD (and --to, by default the same day)');
    const to = options.to ?? options.from;
    if (to < options.from) throw new Error(`--to ${to} is before --from ${options.from}`);
    const handle = client.schedule.getHandle(options.id);
    const description = await handle.describe();
    const timezone = description.spec.timezone ?? 'UTC';
    // Whole days in the schedule's zone, both included.
    const start = startOfDayInZone(options.from, timezone);
    if (start.getTime() > Date.now()) throw new Error(`${options.from} has not begun yet in ${timezone}: backfill is for past nights`);
    // Up to now at most: a slot still to come is the schedule's own business.
    const end = new Date(Math.min(startOfDayInZone(nextDay(to), timezone).getTime() - 1000, Date.now()));
    const slots = await scheduledTimes(client, options.id, start, end);
    if (slots.length === 0) throw new Error(`the schedule has no slot from ${options.from} to ${to} in ${timezone}: nothing to backfill`);
    // One night after another, oldest first, so the newest night is the last to publish.
    await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
    const input = (description.action.args?.[0] ?? {}) as SegmentationInput;
    const runs = slots.map((slot) => ({
      workflowId: `${description.action.workflowId}-${slot.toISOString().replace('.000Z', 'Z')}`,
      scheduledFor: slot.toISOString(),
      local: formatInZone(slot, timezone),
      reads: fillDatePlaceholders(workbooks(input), slot, input.timezone ?? timezone),
    }));
    if (options.json) {
      console.log(JSON.stringify({ scheduleId: options.id, runs }));
      return 0;
    }
    console.log(`backfill of ${options.id} from ${options.from} to ${to} (${timezone}): ${runs.length} run${runs.length === 1 ? '' : 's'}, one after another`);
    printTable(runs.map((run) => ({ 'scheduled for': run.local, workflow: run.workflowId, reads: run.reads })));
    console.log(`each starts when the one before it has ended; follow one with \`segment status WORKFLOW_ID --wait\` once it has started`);
    return 0;
  },

  async delete(client, _config, options) {
    await client.schedule.getHandle(options.id).delete();
    say(options, { scheduleId: options.id, deleted: true }, `deleted schedule ${options.id} (runs it started are left as they are)`);
    return 0;
  },
};

/** Describes the schedule, with the nights daylight saving time disturbs in the coming year. */
async function show(client: Client, config: AppConfig, options: { id: string; json?: boolean }, headline?: string): Promise<number> {
  const description = await client.schedule.getHandle(options.id).describe();
  const view = await scheduleView(client, config, description);
  const dstNights = await nightsDstDisturbs(client, description);
  if (options.json) {
    console.log(JSON.stringify({ ...view, dstNights }));
    return 0;
  }
  if (headline) console.log(`${headline}\n`);
  printScheduleView(view);
  for (const night of dstNights) {
    console.log(
      night.runs === 0
        ? `note: no run on ${night.day}: the clocks go forward over the scheduled time that day in ${view.timezone}`
        : `note: ${night.runs} runs on ${night.day}: the clocks go back over the scheduled time that day in ${view.timezone} (each reads that day's file; the later one publishes)`,
    );
  }
  return 0;
}

async function nightsDstDisturbs(client: Client, description: ScheduleDescription): Promise<DisturbedNight[]> {
  const calendars = description.spec.calendars ?? [];
  if (calendars.length !== 1 || !isDaily(calendars[0]) || description.spec.intervals?.length) return [];
  const now = new Date();
  const times = await scheduledTimes(client, description.scheduleId, now, new Date(now.getTime() + YEAR_MS));
  return disturbedNights(times, description.spec.timezone ?? 'UTC');
}

/** The note of an active schedule: what it does, from what it is now. */
function describedNote(description: ScheduleDescription): string {
  const input = (description.action.args?.[0] ?? {}) as SegmentationInput;
  const cron = (description.spec.calendars ?? []).map(cronText).join(', ');
  return scheduleNote({ cron, timezone: description.spec.timezone ?? 'UTC', input });
}

function say(options: { json?: boolean }, json: object, text: string): void {
  console.log(options.json ? JSON.stringify(json) : text);
}
