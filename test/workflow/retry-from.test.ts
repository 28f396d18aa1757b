/**
 * Where an operator's `retry` restarts a run, for every step and every error that says otherwise,
 * on the time-skipping test server with stub activities: the failed step's failure names the step
 * to start from, and after `retry` that step and the later ones run again while the earlier ones
 * do not. Bad input ends the run at once, with no wait. No MySQL, Kafka or Temporal dev server.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { SegmentationActivities } from '../../activities';
import { InvalidInputError, PublishedRangeGoneError, ReconciliationError, StagingMissingError, WorkbookChangedError } from '../../lib/errors';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { STEPS, type StepName } from '../../workflows/steps';
import { stubActivities, type ActivityName, type StubActivities } from '../support/stub-activities';
import { createTestWorker, createTimeSkippingEnvironment, newTaskQueue, STUBBED_RUN_INPUT, untilStatus } from '../support/time-skipping-server';

jest.setTimeout(30_000);

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = newTaskQueue('retry-from');
/** The stubs of the test running now: one worker serves the whole file, the tests run one at a time. */
let current: StubActivities = stubActivities();

beforeAll(async () => {
  env = await createTimeSkippingEnvironment();
  const delegating = Object.fromEntries(
    Object.keys(current.activities).map((name) => [name, (...args: unknown[]) => (current.activities[name as ActivityName] as (...a: unknown[]) => Promise<unknown>)(...args)]),
  ) as unknown as SegmentationActivities;
  worker = await createTestWorker(env, taskQueue, delegating);
  running = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

/** The activities each step calls (with one activity per fanned-out step, each is called once per run of the step). */
const ACTIVITIES_OF: Record<StepName, ActivityName[]> = {
  load: ['planLoad', 'loadWorkbookPart'],
  aggregate: ['aggregatePurchases'],
  publish: ['publishPurchaseCounts'],
  classify: ['classifyCustomers'],
  reconcile: ['reconcileRun'],
  audit: ['auditRun'],
  publication: ['publishSegments'],
};

/** The stubs, with `activity` failing for good (one attempt is all the run allows) the first time only. */
function failingOnce(activity: ActivityName, error: Error): StubActivities {
  const defaults = stubActivities().activities;
  let failed = false;
  return stubActivities({
    [activity]: async (...args: unknown[]) => {
      if (!failed) {
        failed = true;
        throw error;
      }
      return await (defaults[activity] as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  });
}

let runs = 0;
function start(input: SegmentationInput = STUBBED_RUN_INPUT): Promise<WorkflowHandle> {
  return env.client.workflow.start('customerSegmentation', { taskQueue, workflowId: `${taskQueue}-${++runs}`, args: [input] });
}

/** The run's failure, under the "activity failed" wrapper when a step's activity failed. */
async function failureOf(handle: WorkflowHandle): Promise<unknown> {
  const error = await handle.result().then(() => undefined, (failed: unknown) => failed);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  return cause instanceof ActivityFailure ? cause.cause : cause;
}

const INFRASTRUCTURE = () => new Error('connect ECONNREFUSED 127.0.0.1:3306');
/** [step that fails, the failure's type, the step `retry` restarts from, the activity that throws, the error] */
const CASES: Array<[StepName, string, StepName, ActivityName, () => Error]> = [
  // An infrastructure error whose attempts are spent: the failed step itself runs again.
  ...STEPS.map((step): [StepName, string, StepName, ActivityName, () => Error] => [step, 'Error', step, ACTIVITIES_OF[step].at(-1)!, INFRASTRUCTURE]),
  ['load', 'WorkbookChangedError', 'load', 'loadWorkbookPart', () => new WorkbookChangedError('orders.xlsx changed while it was loaded')],
  ['aggregate', 'StagingMissingError', 'load', 'aggregatePurchases', () => new StagingMissingError('the staging rows of the load were pruned')],
  ['classify', 'PublishedRangeGoneError', 'publish', 'classifyCustomers', () => new PublishedRangeGoneError('partition 0 offsets 0-4 were deleted')],
  ['reconcile', 'ReconciliationError', 'publish', 'reconcileRun', () => new ReconciliationError('published 4, consumed 3')],
];

test.each(CASES)('%s failing with %s: `retry` restarts from %s, and runs the earlier steps no more', async (failed, type, retryFrom, activity, error) => {
  current = failingOnce(activity, error());
  const handle = await start();
  const waiting = await untilStatus(handle, 'awaiting-operator');
  expect(waiting.failure).toMatchObject({ step: failed, type, retryFrom });
  expect(waiting.steps[failed].status).toBe('failed');

  const receipt = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }] });
  expect(receipt).toEqual({ action: 'retry', step: failed, retryFrom });
  const done = await handle.result();
  expect(done.status).toBe('completed');

  // Before retryFrom: once. From retryFrom to the failed step: twice. After it: once (they had not run).
  const from = STEPS.indexOf(retryFrom);
  const to = STEPS.indexOf(failed);
  for (const [index, step] of STEPS.entries()) {
    const times = index >= from && index <= to ? 2 : 1;
    expect({ step, runs: done.steps[step].runs }).toEqual({ step, runs: times });
    for (const name of ACTIVITIES_OF[step]) expect({ name, calls: current.calls[name] }).toEqual({ name, calls: times });
  }
});

test('another run publishing after each of 5 audits fails the publication with PublicationRaceError; `retry` restarts from the audit', async () => {
  let publications = 0;
  current = stubActivities({
    publishSegments: async () =>
      ++publications <= 5 ? { outcome: 'audit-outdated', publishedNow: `run-published-meanwhile-${publications}` } : { outcome: 'published', rowsWritten: 4, replaced: 'run-published-meanwhile-5' },
  });
  const handle = await start();
  const waiting = await untilStatus(handle, 'awaiting-operator');
  expect(waiting.failure).toMatchObject({ step: 'publication', type: 'PublicationRaceError', retryFrom: 'audit' });
  expect(current.calls).toMatchObject({ reconcileRun: 1, auditRun: 5, publishSegments: 5 });

  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry' }] });
  expect((await handle.result()).status).toBe('completed');
  expect(current.calls).toMatchObject({ reconcileRun: 1, auditRun: 6, publishSegments: 6 });
});

test('bad input found by a step (InvalidInputError) fails the run at once: no operator wait, nothing after', async () => {
  current = stubActivities({
    planLoad: async () => {
      throw new InvalidInputError('file', 'is outside DATA_DIR');
    },
  });
  const handle = await start();
  const cause = await failureOf(handle);
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type: 'InvalidInputError' });
  expect(current.recorded.map((progress) => progress.status)).not.toContain('awaiting-operator');
  expect(current.recorded.at(-1)).toMatchObject({ status: 'failed', failure: { step: 'load', type: 'InvalidInputError' } });
  expect(current.calls).toMatchObject({ planLoad: 1, loadWorkbookPart: 0, aggregatePurchases: 0, publishSegments: 0 });
});

test('a wrong input field fails the run at once, naming the field, before any step', async () => {
  current = stubActivities();
  const handle = await start({ ...STUBBED_RUN_INPUT, threshold: -1 });
  const cause = await failureOf(handle);
  expect(cause).toMatchObject({ type: 'InvalidInputError' });
  expect((cause as Error).message).toContain('threshold');
  expect(current.calls).toMatchObject({ recordRunStarted: 0, planLoad: 0 });
});

test('`operatorWait: 0` fails a run whose step failed for good at once, with the step\'s own error', async () => {
  current = failingOnce('reconcileRun', INFRASTRUCTURE());
  const handle = await start({ ...STUBBED_RUN_INPUT, operatorWait: 0 });
  const cause = await failureOf(handle);
  expect(String((cause as Error).message)).toContain('ECONNREFUSED');
  expect(current.recorded.map((progress) => progress.status)).not.toContain('awaiting-operator');
  expect(current.calls).toMatchObject({ reconcileRun: 1, auditRun: 0 });
});
