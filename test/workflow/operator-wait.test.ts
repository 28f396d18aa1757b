/**
 * The operator wait after a step fails for good, on the time-skipping test server with stub
 * activities: retry, abort, the wait running out, an Update landing together with the timer,
 * and a cancel while a step runs. No MySQL, Kafka or Temporal dev server.
 */
import { Context } from '@temporalio/activity';
import { isGrpcServiceError, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { WorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { stubActivities, type StubActivities } from '../support/stub-activities';
import { createTestWorker, newTaskQueue, startStubbedRun, STUBBED_RUN_INPUT, untilStatus, timeSkippingServerPerFile } from '../support/time-skipping-server';

const GRPC_NOT_FOUND = 5;

// Each test takes a second or two: a run that hangs (an Update no workflow task answers) should fail soon.
jest.setTimeout(30_000);

const server = timeSkippingServerPerFile();

const start = (taskQueue: string, input?: SegmentationInput) => startStubbedRun(server.env, taskQueue, input);

/**
 * Reconcile fails for good the first `times` times it is called (MySQL unreachable, and one
 * attempt allowed: an error that retries from the failed step itself), then succeeds.
 */
function reconcileFailing(times = 1): StubActivities {
  let failures = 0;
  return stubActivities({
    reconcileRun: async () => {
      if (failures++ < times) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
      return { customersConsumed: 4, low: 3, high: 1, published: false, rowsWritten: 0 };
    },
  });
}

async function failureOf(handle: WorkflowHandle): Promise<unknown> {
  const error = await handle.result().then(
    () => undefined,
    (failed: unknown) => failed,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause;
}

test('a step failing for good waits for an operator; `retry` runs that step and the later ones, not the earlier ones', async () => {
  const taskQueue = newTaskQueue('retry');
  const stubs = reconcileFailing();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    const waiting = await untilStatus(handle, 'awaiting-operator');
    expect(waiting.failure).toMatchObject({ step: 'reconcile', type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:3306', retryFrom: 'reconcile' });
    expect(stubs.calls.auditRun).toBe(0);

    const receipt = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }] });
    expect(receipt).toEqual({ action: 'retry', step: 'reconcile', retryFrom: 'reconcile' });
    const done = await handle.result();
    expect(done.status).toBe('completed');
    expect(done.steps.reconcile.runs).toBe(2);
  });
  expect(stubs.calls).toMatchObject({
    planLoad: 1,
    loadWorkbookPart: 1,
    aggregatePurchases: 1,
    publishPurchaseCounts: 1,
    classifyCustomers: 1,
    reconcileRun: 2,
    auditRun: 1,
    publishSegments: 1,
  });
  expect(stubs.recorded.map((progress) => progress.status)).toContain('awaiting-operator');
  expect(stubs.recorded.at(-1)?.status).toBe('completed');
});

test('`abort` fails the run with RunAbortedError and runs nothing after', async () => {
  const taskQueue = newTaskQueue('abort');
  const stubs = reconcileFailing();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    const receipt = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', by: 'ops', reason: 'wrong export' }] });
    expect(receipt).toMatchObject({ action: 'abort', step: 'reconcile' });
    const cause = await failureOf(handle);
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'RunAbortedError' });
    expect((cause as Error).message).toContain('aborted by ops (wrong export) after step reconcile failed');
  });
  expect(stubs.calls).toMatchObject({ reconcileRun: 1, auditRun: 0, publishSegments: 0, pruneStaging: 0 });
  expect(stubs.recorded.at(-1)).toMatchObject({ status: 'failed' });
});

test('no decision within the default operator wait (24 hours, skipped): the run fails with OperatorTimeoutError', async () => {
  const taskQueue = newTaskQueue('timeout');
  const stubs = reconcileFailing();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  const before = await server.env.currentTimeMs();
  await worker.runUntil(async () => {
    const handle = await start(taskQueue, { ...STUBBED_RUN_INPUT, operatorWait: undefined });
    const waiting = await untilStatus(handle, 'awaiting-operator');
    expect(Date.parse(waiting.awaitingOperatorUntil!) - before).toBeGreaterThanOrEqual(24 * 3_600_000);
    // Awaiting the result lets the server skip to the timer.
    const cause = await failureOf(handle);
    expect(cause).toMatchObject({ type: 'OperatorTimeoutError' });
    expect((cause as Error).message).toContain('no operator decision within 86400s after step reconcile failed');
  });
  expect((await server.env.currentTimeMs()) - before).toBeGreaterThanOrEqual(24 * 3_600_000);
  expect(stubs.calls).toMatchObject({ reconcileRun: 1, auditRun: 0, publishSegments: 0 });
  expect(stubs.recorded.at(-1)).toMatchObject({ status: 'failed' });
});

test('`approve` is refused for a run whose failure is not an audit hold; the run keeps waiting', async () => {
  const taskQueue = newTaskQueue('approve-refused');
  const stubs = reconcileFailing();
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    const refused = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'approve', by: 'ops', reason: 'looks fine' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toContain('only a run held by its audit can be approved');
    const still = await untilStatus(handle, 'awaiting-operator');
    expect(still.decisions).toEqual([]);
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort' }] });
    expect(await failureOf(handle)).toMatchObject({ type: 'RunAbortedError' });
  });
  expect(stubs.calls.publishSegments).toBe(0);
});

/** The events of a run's history, by type name (e.g. "EVENT_TYPE_TIMER_FIRED" → "TimerFired"). */
async function eventTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((event: temporal.api.history.v1.IHistoryEvent) => eventName(event));
}

function eventName(event: temporal.api.history.v1.IHistoryEvent): string {
  const attributes = Object.keys(event).find((key) => key.endsWith('EventAttributes') && (event as Record<string, unknown>)[key]);
  return attributes ? attributes[0].toUpperCase() + attributes.slice(1, -'EventAttributes'.length) : '?';
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The SDK's order, and the timer first (by a test-only workflow interceptor, in a bundle of its own). */
const JOB_ORDERS: Array<[string, Partial<WorkerOptions>]> = [
  ['as the SDK delivers them (the Update first)', {}],
  [
    'with the timer delivered first',
    {
      workflowBundle: undefined,
      workflowsPath: require.resolve('../../workflows'),
      interceptors: { workflowModules: [require.resolve('../support/timer-before-update-interceptor')] },
    },
  ],
];

test.each(JOB_ORDERS)('an Update that lands in the same activation as the operator-wait timer wins, %s: answered "retry", the step runs again and the run completes', async (_order, replacementWorker) => {
  const taskQueue = newTaskQueue('race');
  const stubs = reconcileFailing();
  // No workflow cache, so no sticky queue: the next workflow task goes to whichever worker polls next.
  const handle = await createTestWorker(server.env, taskQueue, stubs.activities, { maxCachedWorkflows: 0 }).then((worker) =>
    worker.runUntil(async () => {
      const started = await start(taskQueue);
      await untilStatus(started, 'awaiting-operator');
      // The status is set before the wait is recorded; the timer starts after that.
      await until('the operator-wait timer to start', async () => ((await eventTypes(started)).at(-1) === 'TimerStarted' ? true : undefined));
      return started;
    }),
  );
  // No worker now. The wait runs out: the server schedules a workflow task for the timer...
  await server.env.sleep((await timerFiresAt(handle)) - (await server.env.currentTimeMs()));
  expect((await eventTypes(handle)).slice(-2)).toEqual(['TimerFired', 'WorkflowTaskScheduled']);
  // ...and the Update, admitted before any worker polls, joins that same task.
  const updateId = `${taskQueue}-retry`;
  const answer = handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }], updateId }).then(
    (receipt) => ({ receipt, error: undefined }),
    (error: unknown) => ({ receipt: undefined, error }),
  );
  await until('the Update to be admitted', () => admitted(handle.workflowId, updateId));
  expect((await eventTypes(handle)).slice(-2)).toEqual(['TimerFired', 'WorkflowTaskScheduled']);

  const worker = await createTestWorker(server.env, taskQueue, stubs.activities, replacementWorker);
  const { receipt, error, outcome } = await worker.runUntil(async () => {
    const { receipt, error } = await answer;
    const outcome = await handle.result().then(
      (progress) => progress.status,
      (failed: unknown) => (failed instanceof WorkflowFailedError ? failed.cause : failed),
    );
    return { receipt, error, outcome };
  });
  // One workflow task saw the timer fire and accepted the Update.
  const events = await eventTypes(handle);
  const fired = events.indexOf('TimerFired');
  const accepted = events.indexOf('WorkflowExecutionUpdateAccepted');
  expect(accepted).toBeGreaterThan(fired);
  expect(events.slice(fired, accepted).filter((type) => type === 'WorkflowTaskStarted')).toHaveLength(1);

  // The operator was told "retrying", and the run did retry.
  expect(error).toBeUndefined();
  expect(receipt).toEqual({ action: 'retry', step: 'reconcile', retryFrom: 'reconcile' });
  expect(outcome).toBe('completed');
  expect(stubs.calls).toMatchObject({ reconcileRun: 2, auditRun: 1, publishSegments: 1 });
});

/**
 * When the run's timer fires, in server time. Sleeping to exactly then, not past it: once the
 * timer's workflow task is scheduled the server stops skipping time, and the rest would be real.
 */
async function timerFiresAt(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  const started = history.events?.find((event) => event.timerStartedEventAttributes);
  if (!started) throw new Error(`run ${handle.workflowId} started no timer`);
  return tsToMs(started.eventTime) + tsToMs(started.timerStartedEventAttributes!.startToFireTimeout);
}

/** Whether the server holds the Update (admitted, not yet seen by a worker); undefined until it does. */
async function admitted(workflowId: string, updateId: string): Promise<true | undefined> {
  try {
    await server.env.connection.workflowService.pollWorkflowExecutionUpdate({
      namespace: server.env.namespace ?? 'default',
      updateRef: { workflowExecution: { workflowId }, updateId },
      waitPolicy: { lifecycleStage: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
    });
    return true;
  } catch (error) {
    if (isGrpcServiceError(error) && (error.code as number) === GRPC_NOT_FOUND) return undefined;
    throw error;
  }
}

test('a cancel while a step runs ends the run cancelled and records it', async () => {
  const taskQueue = newTaskQueue('cancel');
  let classifying!: () => void;
  const classifyStarted = new Promise<void>((resolve) => (classifying = resolve));
  const stubs = stubActivities({
    classifyCustomers: async () => {
      classifying();
      // Heartbeats carry the cancel to the activity; Context.sleep rejects with it.
      for (;;) {
        Context.current().heartbeat();
        await Context.current().sleep(20);
      }
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await classifyStarted;
    await handle.cancel();
    // Room for a workflow task the test server refuses, and its retry: in one CI run it refused the
    // cancel's task (ACTIVITY_UNKNOWN, beside an activity just completed) and 20 s were not enough.
    await until('the cancelled run to be recorded', async () => (stubs.recorded.at(-1)?.status === 'cancelled' ? true : undefined), 60_000);
    const cause = await failureOf(handle);
    expect(cause).toBeInstanceOf(CancelledFailure);
  });
  expect(stubs.recorded.at(-1)).toMatchObject({ status: 'cancelled', currentStep: 'classify' });
  expect(stubs.calls).toMatchObject({ classifyCustomers: 1, reconcileRun: 0, auditRun: 0, publishSegments: 0, pruneStaging: 0 });
}, 90_000);

test('a decision for a run that is not waiting (a step still running) is refused, and the run goes on', async () => {
  const taskQueue = newTaskQueue('not-waiting');
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let classifying!: () => void;
  const classifyStarted = new Promise<void>((resolve) => (classifying = resolve));
  const stubs = stubActivities({
    classifyCustomers: async () => {
      classifying();
      await released;
      return { messagesConsumed: 4 };
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await start(taskQueue);
    await classifyStarted;
    const refused = await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toContain('the run is not waiting for an operator (it is running)');
    release();
    const done = await handle.result();
    expect(done.status).toBe('completed');
    expect(done.decisions).toEqual([]);
  });
});
