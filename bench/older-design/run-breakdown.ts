/**
 * Where the wall time of one `segment run --wait --json` goes, from the run's Temporal history
 * (server timestamps) and the process's own spawn and exit times (same machine, same clock):
 *
 * - CLI start: spawn until the server recorded WorkflowExecutionStarted (node, modules, config,
 *   connecting, the start request);
 * - workflow: WorkflowExecutionStarted until the close event;
 *   - workflow tasks: how many, and their time scheduled → completed (the orchestration's turns);
 *   - activities: per type, how many, their queue wait (scheduled → started, the round trip to a
 *     worker) and their run time (started → closed); parallel ones overlap;
 * - CLI end: the close event until the process exited (the result's delivery, closing, exit).
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { Client } from '@temporalio/client';

export interface RunBreakdown {
  cliStartMs: number;
  workflowMs: number;
  cliEndMs: number;
  workflowTasks: { count: number; ms: number };
  activities: Record<string, { count: number; queueMs: number; runMs: number }>;
}

export async function runBreakdown(client: Client, workflowId: string, spawnedAtMs: number, exitedAtMs: number): Promise<RunBreakdown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const at = (event: (typeof events)[number]) => tsToMs(event.eventTime);
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  const started = events.find((event) => event.workflowExecutionStartedEventAttributes);
  const closed = [...events]
    .reverse()
    .find((event) => event.workflowExecutionCompletedEventAttributes ?? event.workflowExecutionFailedEventAttributes ?? event.workflowExecutionContinuedAsNewEventAttributes);
  if (!started || !closed) throw new Error(`${workflowId}: its history has no start or no close`);

  const workflowTasks = { count: 0, ms: 0 };
  const activities: RunBreakdown['activities'] = {};
  for (const event of events) {
    const taskDone = event.workflowTaskCompletedEventAttributes;
    if (taskDone) {
      workflowTasks.count += 1;
      workflowTasks.ms += at(event) - at(byId.get(Number(taskDone.scheduledEventId))!);
    }
    const activityDone = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (activityDone) {
      const scheduled = byId.get(Number(activityDone.scheduledEventId))!;
      const activityStarted = byId.get(Number(activityDone.startedEventId))!;
      const name = scheduled.activityTaskScheduledEventAttributes?.activityType?.name ?? 'unknown';
      const entry = (activities[name] ??= { count: 0, queueMs: 0, runMs: 0 });
      entry.count += 1;
      entry.queueMs += at(activityStarted) - at(scheduled);
      entry.runMs += at(event) - at(activityStarted);
    }
  }
  return {
    cliStartMs: at(started) - spawnedAtMs,
    workflowMs: at(closed) - at(started),
    cliEndMs: exitedAtMs - at(closed),
    workflowTasks,
    activities,
  };
}
