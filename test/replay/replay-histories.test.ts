/**
 * Recorded histories of real runs replay against today's workflow code. A change that would make
 * the workflow non-deterministic (a step added, removed or reordered without a patch) fails here
 * before it can break runs in flight. Record new fixtures with test/replay/record-history.ts.
 *
 * Each `patched(ID)` has two paths: the new one (the workflow tests run it) and the old one, which
 * runs only when a history from before the patch (no marker for ID) reaches that call site. Which
 * fixture runs each patch's old path (OLD_PATHS below checks each claim):
 * - publish-in-slices: online-retail-completed, missing-workbook-retried-completed.
 * - audit-before-publication: online-retail-completed, online-retail-completed-publish-in-slices,
 *   missing-workbook-aborted, missing-workbook-retried-completed, record-failed-retried-completed,
 *   decision-and-timer-same-task-update-first, decision-and-timer-same-task-timer-first.
 * - load-in-turns: online-retail-completed, online-retail-completed-publish-in-slices,
 *   missing-workbook-retried-completed, record-failed-retried-completed,
 *   decision-and-timer-same-task-update-first, decision-and-timer-same-task-timer-first.
 * - run-record-sequence: record-failed-retried-completed (recorded with 420699b^).
 * - reconcile-retries-from-publish: reconcile-failed-retried-completed (recorded with a23b87f^).
 * - decision-wins-over-timer: decision-and-timer-same-task-timer-first (recorded with a9fd569^,
 *   the last code where the timer won). Its old path needs the timer delivered before the Update
 *   in one activation, which SDK 1.24 never does (it delivers the Update first, and then even the
 *   old code saw the decision), so that history is recorded and replayed with the test-only
 *   test/support/timer-before-update-interceptor.ts; decision-and-timer-same-task-update-first is
 *   the same race in the SDK's order, which never reaches that patched() at all.
 * - notify-webhook: missing-workbook-aborted (a wait, then failed), audit-held-approved-completed
 *   (held, then published), audit-passed-completed (published): all recorded before notifications.
 * The old-path fixtures were recorded on the time-skipping test server with stub activities, from
 * a scratch checkout of the commit named.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'histories');
const fixtures = fs.readdirSync(FIXTURES).filter((name) => name.endsWith('.json'));

/** Histories recorded with the timer delivered before the Update; they replay in that order. */
const TIMER_FIRST = ['decision-and-timer-same-task-timer-first.json'];

test('there are recorded histories to replay', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(2);
});

test.each(fixtures)('%s replays without non-determinism', async (name) => {
  const history = readHistory(name);
  // The same bundle the workers run (the global set-up's build brought it up to date), or for a
  // timer-first history that code bundled with the interceptor it was recorded with.
  const options: ReplayWorkerOptions = TIMER_FIRST.includes(name)
    ? {
        workflowsPath: require.resolve('../../workflows'),
        interceptors: { workflowModules: [require.resolve('../support/timer-before-update-interceptor')] },
      }
    : { workflowBundle: loadWorkflowBundle() };
  await Worker.runReplayHistory(options, history, name.replace(/\.json$/, ''));
});

/** An event as the fixtures store it (the JSON of temporal.api.history.v1.HistoryEvent). */
interface HistoryEvent {
  eventId: string;
  eventType: string;
  [attributes: string]: any;
}

/**
 * Per patch: the events that prove a history reached its `patched()` call. Without the patch's
 * marker, that history ran the old path there.
 */
const CALL_SITES: Record<string, { reached: string; proof: (events: HistoryEvent[]) => boolean }> = {
  'audit-before-publication': {
    reached: 'the first workflow task (the run chooses its steps there)',
    proof: (events) => events.some((event) => event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED'),
  },
  'load-in-turns': { reached: 'the load was planned', proof: (events) => closedAs(events, 'planLoad', 'Completed').length > 0 },
  'publish-in-slices': { reached: 'the publish step started', proof: (events) => scheduled(events, 'publishPurchaseCounts').length > 0 },
  'run-record-sequence': { reached: "a step's record failed while the step's own activity still ran", proof: recordFailedWhileStepRan },
  'reconcile-retries-from-publish': {
    reached: 'reconcile failed with a ReconciliationError, then an operator decided',
    proof: (events) => {
      const failed = closedAs(events, 'reconcileRun', 'Failed').find((index) => failureType(events[index]) === 'ReconciliationError');
      return failed !== undefined && events.slice(failed).some((event) => event.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
    },
  },
  'notify-webhook': {
    reached: 'the run waited for an operator (an Update was accepted), ended failed, or published',
    proof: (events) =>
      events.some((event) => event.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED' || event.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED') ||
      closedAs(events, 'publishSegments', 'Completed').length > 0,
  },
  'decision-wins-over-timer': {
    reached: 'the operator-wait timer fired and a decision was accepted in one workflow task, and the run timed out',
    proof: (events) => decisionInTheTimersTask(events) && failureType(events.at(-1)!) === 'OperatorTimeoutError',
  },
};

/** Fixture → the patches whose old path it runs. */
const OLD_PATHS: Record<string, string[]> = {
  'online-retail-completed.json': ['publish-in-slices', 'audit-before-publication', 'load-in-turns'],
  'online-retail-completed-publish-in-slices.json': ['audit-before-publication', 'load-in-turns'],
  'missing-workbook-aborted.json': ['audit-before-publication', 'notify-webhook'],
  'audit-held-approved-completed.json': ['notify-webhook'],
  'audit-passed-completed.json': ['notify-webhook'],
  'missing-workbook-retried-completed.json': ['publish-in-slices', 'audit-before-publication', 'load-in-turns'],
  'record-failed-retried-completed.json': ['run-record-sequence', 'audit-before-publication', 'load-in-turns'],
  'reconcile-failed-retried-completed.json': ['reconcile-retries-from-publish'],
  'decision-and-timer-same-task-update-first.json': ['audit-before-publication', 'load-in-turns'],
  'decision-and-timer-same-task-timer-first.json': ['decision-wins-over-timer', 'audit-before-publication', 'load-in-turns'],
};

test.each(Object.entries(OLD_PATHS).flatMap(([name, patches]) => patches.map((patch) => [name, patch])))(
  "%s runs %s's old path: no marker for it, and its call site reached",
  (name, patch) => {
    const events = readHistory(name).events as HistoryEvent[];
    expect(patchMarkers(events)).not.toContain(patch);
    expect({ reached: CALL_SITES[patch].reached, proven: CALL_SITES[patch].proof(events) }).toEqual({ reached: CALL_SITES[patch].reached, proven: true });
  },
);

test("every patch in the workflow code has a fixture that runs its old path", () => {
  const covered = new Set(Object.values(OLD_PATHS).flat());
  expect(patchIdsInWorkflowCode().filter((id) => !covered.has(id))).toEqual([]);
  expect(Object.keys(CALL_SITES).sort()).toEqual(patchIdsInWorkflowCode().sort());
});

function readHistory(name: string): { events: unknown[] } {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** The ids of `patched(ID)` calls in workflows/, ID a string or a constant holding one. */
function patchIdsInWorkflowCode(): string[] {
  const folder = path.join(__dirname, '..', '..', 'workflows');
  const source = fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => fs.readFileSync(path.join(folder, file), 'utf8'))
    .join('\n');
  const constants = new Map([...source.matchAll(/const (\w+) = '([^']+)'/g)].map(([, name, value]) => [name, value]));
  const ids = [...source.matchAll(/patched\(\s*(?:'([^']+)'|(\w+))\s*\)/g)].map(([, literal, name]) => literal ?? constants.get(name) ?? `unresolved ${name}`);
  return [...new Set(ids)];
}

/** The patch ids the history's markers carry. */
function patchMarkers(events: HistoryEvent[]): string[] {
  return events
    .filter((event) => event.eventType === 'EVENT_TYPE_MARKER_RECORDED')
    .flatMap((event) => event.markerRecordedEventAttributes.details?.['patch-data']?.payloads ?? [])
    .map((payload: { data: string }) => JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')).id);
}

/** The scheduling events of an activity type. */
function scheduled(events: HistoryEvent[], activity: string): HistoryEvent[] {
  return events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activity);
}

/** Indexes of the events closing an activity type's tasks as `how` (Completed, Failed, ...). */
function closedAs(events: HistoryEvent[], activity: string, how: 'Completed' | 'Failed'): number[] {
  const ids = new Set(scheduled(events, activity).map((event) => event.eventId));
  return events.flatMap((event, index) => (ids.has(event[`activityTask${how}EventAttributes`]?.scheduledEventId) ? [index] : []));
}

/** The error type of a failed activity or a failed run. */
function failureType(event: HistoryEvent): string | undefined {
  const failure = (event.activityTaskFailedEventAttributes ?? event.workflowExecutionFailedEventAttributes)?.failure;
  let cause = failure;
  while (cause?.cause && !cause.applicationFailureInfo) cause = cause.cause;
  return cause?.applicationFailureInfo?.type;
}

/** A recordRunProgress failed while an activity scheduled in the same workflow task (the step's) was still open. */
function recordFailedWhileStepRan(events: HistoryEvent[]): boolean {
  return closedAs(events, 'recordRunProgress', 'Failed').some((failedAt) => {
    const record = events.find((event) => event.eventId === events[failedAt].activityTaskFailedEventAttributes.scheduledEventId)!;
    const task = record.activityTaskScheduledEventAttributes.workflowTaskCompletedEventId;
    const step = events.filter((event) => event !== record && event.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId === task);
    const closedBefore = (id: string) => events.slice(0, failedAt).some((event) => Object.keys(event).some((key) => /^activityTask\w+EventAttributes$/.test(key) && key !== 'activityTaskScheduledEventAttributes' && key !== 'activityTaskStartedEventAttributes' && event[key].scheduledEventId === id));
    return step.some((activity) => !closedBefore(activity.eventId));
  });
}

/** A timer fired and an Update was accepted with only one workflow task started in between: the same task saw both. */
function decisionInTheTimersTask(events: HistoryEvent[]): boolean {
  return events.some((event, fired) => {
    if (event.eventType !== 'EVENT_TYPE_TIMER_FIRED') return false;
    const accepted = events.findIndex((later, index) => index > fired && later.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
    return accepted > fired && events.slice(fired, accepted).filter((between) => between.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED').length === 1;
  });
}
