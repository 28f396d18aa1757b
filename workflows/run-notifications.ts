/**
 * The run's notifications: when it starts waiting for an operator (a step failed for good, or
 * its audit held it), when it ends failed (not cancelled), and after it is published, the
 * workflow hands the facts to the notifyRun activity (activities/notify-run.ts), which posts
 * them to NOTIFY_WEBHOOK_URL, or does nothing when none is set (NOTIFY_ON=published decides there
 * too: the worker's settings, not the run's input).
 *
 * A notification never holds the run up: it is started and not awaited, so the operator wait
 * starts at once; a notification that finally fails (refused, or not taken within its hour of
 * retries) is logged and the run goes on. Before the workflow closes it waits for the ones still
 * being delivered (a closed workflow's activities are dropped): with the receiver down, a run's
 * close waits at most that hour, its outcome already recorded and shown.
 */
import { log, patched, workflowInfo } from '@temporalio/workflow';
import type { NotifyRunInput } from '../activities/notify-run';
import type { PublishedRunFacts, RunEvent } from '../lib/notifications/run-notification';
import { NOTIFY_WEBHOOK } from './patches';
import type { Run } from './run-steps';
import { errorOf, rootMessage } from './step-failure';
import type { SegmentationProgress } from './segmentation-progress';

/** Starts the event's notification (runs from before the patch send none); `error`: what ended a failed run. */
export function notify(run: Run, event: RunEvent, error?: unknown): void {
  if (!patched(NOTIFY_WEBHOOK)) return;
  const info = workflowInfo();
  const { progress } = run.state;
  const waiting = event === 'awaiting-operator' || event === 'held';
  // One execution ends and publishes once, but may wait for an operator several times: the n-th wait is its own event.
  const sequence = waiting ? run.state.waits : 1;
  const facts: NotifyRunInput = {
    event,
    eventId: `${info.workflowId}/${info.runId}/${event}/${sequence}`,
    workflowId: info.workflowId,
    runId: run.runId,
    at: new Date(Date.now()).toISOString(),
    step: event === 'published' ? null : (progress.failure?.step ?? null),
    failure: waiting && progress.failure ? { type: progress.failure.type, message: progress.failure.message, retryFrom: progress.failure.retryFrom } : event === 'failed' ? errorOf(error) : null,
    awaitingOperatorUntil: waiting ? (progress.awaitingOperatorUntil ?? null) : null,
    published: event === 'published' ? publishedFacts(progress) : null,
  };
  const sending = run.notifications.notifyRun.executeWithOptions({ summary: `Notify: ${event}` }, [facts]).then(
    () => undefined,
    (failure: unknown) => log.warn('a notification could not be posted; the run goes on', { event, eventId: facts.eventId, error: rootMessage(failure) }),
  );
  run.state.notifications.push(sending);
}

/** Until every notification started is posted or has failed for good (they never throw). */
export async function notificationsSettled(run: Run): Promise<void> {
  await Promise.all(run.state.notifications);
}

/** The published run's segment sizes, and the customers who changed category as its audit counted them. */
function publishedFacts(progress: SegmentationProgress): PublishedRunFacts | null {
  const summary = progress.summary;
  if (!summary) return null;
  const audit = progress.audit;
  const moves = audit?.checks.find((check) => check.name === 'maxMovedPercent');
  return {
    dataDate: summary.dataDate,
    customers: summary.customers,
    low: summary.low,
    high: summary.high,
    rowsWritten: summary.rowsWritten,
    segments: summary.segments ?? [],
    moved:
      moves && moves.measured !== null && moves.published !== null && audit?.comparedWith
        ? { customers: moves.run, of: moves.published, percent: moves.measured, comparedWith: audit.comparedWith }
        : null,
  };
}
