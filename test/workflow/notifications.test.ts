/**
 * Where the workflow notifies, on the time-skipping test server with stub activities: a run that
 * starts waiting for an operator (a failed step, an audit hold), a run that ends failed (not
 * cancelled), a published run; and that a notification that is slow or fails for good neither
 * holds the operator wait up nor fails the run. What the activity posts: test/integration/notifications.test.ts.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { AuditResult } from '../../activities/audit-run';
import type { NotifyRunInput, NotifyRunResult } from '../../activities/notify-run';
import { InvalidWorkbookError, NotificationFailedError, NotificationRejectedError } from '../../lib/errors';
import { emptyDataQualityReport } from '../../lib/cleaning/data-quality-report';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { stubActivities } from '../support/stub-activities';
import { createTestWorker, newTaskQueue, startStubbedRun, untilStatus, timeSkippingServerPerFile } from '../support/time-skipping-server';

jest.setTimeout(60_000);

const server = timeSkippingServerPerFile();

const BAD_CELL = new InvalidWorkbookError({ file: 'orders.xlsx', sheet: 'Online Retail', row: 7, column: 'CustomerID' }, 'is not a whole number');

/** The load fails for good the first time, then reads the workbook. */
function loadFailingOnce() {
  let loads = 0;
  return async () => {
    if (loads++ === 0) throw BAD_CELL;
    return { ...emptyDataQualityReport(), rowsRead: 12, rowsKept: 10, newestInvoiceDate: '2011-12-09T12:50:00' };
  };
}

const HELD: AuditResult = {
  outcome: 'held',
  comparedWith: 'run-published-before',
  superseded: false,
  checks: [
    { name: 'maxShrinkPercent', limit: 50, outcome: 'failed', measured: 60, published: 10, run: 4, summary: '4 customers against 10 published: 60% fewer (limit 50%)' },
    { name: 'maxMovedPercent', limit: 25, outcome: 'passed', measured: 20, published: 10, run: 2, summary: '2 of 10 published customers change category: 20%' },
  ],
};

test('a step failing for good: one awaiting-operator notification as the wait starts; `abort`: one failed notification; nothing published', async () => {
  const taskQueue = newTaskQueue('notify-abort');
  const stubs = stubActivities({ loadWorkbookPart: loadFailingOnce() });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    const waiting = await untilStatus(handle, 'awaiting-operator');
    await until(() => stubs.notifications.length === 1);
    const [notified] = stubs.notifications;
    const { runId: executionRunId } = await handle.describe();
    expect(notified).toEqual({
      event: 'awaiting-operator',
      eventId: `${handle.workflowId}/${executionRunId}/awaiting-operator/1`,
      workflowId: handle.workflowId,
      runId: waiting.runId,
      at: waiting.failure!.at,
      step: 'load',
      failure: { type: 'InvalidWorkbookError', message: BAD_CELL.message, retryFrom: 'load' },
      awaitingOperatorUntil: waiting.awaitingOperatorUntil,
      published: null,
    });
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', by: 'ops' }] });
    const error = await handle.result().catch((failed: unknown) => failed);
    expect((error as WorkflowFailedError).cause).toMatchObject({ type: 'RunAbortedError' });
  });
  expect(stubs.notifications.map((input) => input.event)).toEqual(['awaiting-operator', 'failed']);
  expect(stubs.notifications[1]).toMatchObject({ step: 'load', failure: { type: 'RunAbortedError', message: expect.stringContaining('aborted by ops') }, published: null });
  expect(stubs.notifications[1].eventId).toMatch(/\/failed\/1$/);
});

test('each operator wait is its own event; a completed run is notified as published, with its sizes', async () => {
  const taskQueue = newTaskQueue('notify-retry');
  let loads = 0;
  const stubs = stubActivities({
    loadWorkbookPart: async () => {
      if (loads++ < 2) throw BAD_CELL;
      return { ...emptyDataQualityReport(), rowsRead: 12, rowsKept: 10, newestInvoiceDate: '2011-12-09T12:50:00' };
    },
    reconcileRun: async () => ({ customersConsumed: 4, low: 3, high: 1, published: false, rowsWritten: 0, segments: [{ segment: 'Champions', customers: 4, monetary: '120.50' }] }),
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    for (let wait = 1; wait <= 2; wait++) {
      await until(() => stubs.notifications.length === wait);
      await untilStatus(handle, 'awaiting-operator');
      await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }] });
    }
    expect((await handle.result()).status).toBe('completed');
  });
  expect(stubs.notifications.map((input) => input.eventId.split('/').slice(2).join('/'))).toEqual(['awaiting-operator/1', 'awaiting-operator/2', 'published/1']);
  expect(stubs.notifications[2]).toMatchObject({
    event: 'published',
    step: null,
    failure: null,
    awaitingOperatorUntil: null,
    published: { customers: 4, low: 3, high: 1, rowsWritten: 4, dataDate: '2011-12-09T12:50:00', segments: [{ segment: 'Champions', customers: 4, monetary: '120.50' }], moved: null },
  });
});

test('a held run is notified as held; approved, as published with the customers its audit saw move', async () => {
  const taskQueue = newTaskQueue('notify-held');
  const stubs = stubActivities({ auditRun: async () => HELD });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    await until(() => stubs.notifications.length === 1);
    expect(stubs.notifications[0]).toMatchObject({ event: 'held', step: 'audit', failure: { type: 'AuditHeldError', message: expect.stringContaining('maxShrinkPercent') } });
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'approve', by: 'ana' }] });
    expect((await handle.result()).status).toBe('completed');
  });
  expect(stubs.notifications.map((input) => input.event)).toEqual(['held', 'published']);
  expect(stubs.notifications[1].published?.moved).toEqual({ customers: 2, of: 10, percent: 20, comparedWith: 'run-published-before' });
});

test('a cancelled run is not notified as failed', async () => {
  const taskQueue = newTaskQueue('notify-cancel');
  const stubs = stubActivities({ loadWorkbookPart: loadFailingOnce() });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    await until(() => stubs.notifications.length === 1);
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });
  expect(stubs.notifications.map((input) => input.event)).toEqual(['awaiting-operator']);
});

test('the operator wait starts while its notification is still being posted; the run closes once that post is done', async () => {
  const taskQueue = newTaskQueue('notify-slow');
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const stubs = stubActivities({
    loadWorkbookPart: loadFailingOnce(),
    notifyRun: async (input: NotifyRunInput): Promise<NotifyRunResult> => {
      if (input.event === 'awaiting-operator') await released;
      return { posted: true, status: 200 };
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    await until(() => stubs.notifications.length === 1);
    // The post hangs, and the run waits for its operator all the same: the decision is taken.
    await untilStatus(handle, 'awaiting-operator');
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }] });
    await until(() => stubs.notifications.length === 2);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    release();
    expect((await handle.result()).status).toBe('completed');
  });
  expect(stubs.notifications.map((input) => input.event)).toEqual(['awaiting-operator', 'published']);
});

test.each([
  ['refused (not retried)', new NotificationRejectedError('the webhook at hooks.example.com refused the notification with 404'), 1],
  ['never taken (retried for its hour)', new NotificationFailedError('the webhook at hooks.example.com answered 503'), 5],
])('a notification %s never fails the run', async (_, error, atLeast) => {
  const taskQueue = newTaskQueue('notify-failing');
  const stubs = stubActivities({
    loadWorkbookPart: loadFailingOnce(),
    notifyRun: async () => {
      throw error;
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    await untilStatus(handle, 'awaiting-operator');
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', by: 'ops' }] });
    expect((await handle.result()).status).toBe('completed');
  });
  const events = new Set(stubs.notifications.map((input) => input.event));
  expect([...events]).toEqual(['awaiting-operator', 'published']);
  expect(stubs.calls.notifyRun).toBeGreaterThanOrEqual(2 * atLeast);
  if (atLeast === 1) expect(stubs.calls.notifyRun).toBe(2);
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
