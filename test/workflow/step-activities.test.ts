/**
 * How a step's activities run, on the time-skipping test server with stub activities: the load
 * starts at most `loadActivities` sheets at once, and a step whose record in MySQL fails is
 * stopped (its activities cancelled and awaited) before it fails with the record's error. No
 * MySQL, Kafka or Temporal dev server.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { LoadPlan } from '../../activities/plan-load';
import { emptyDataQualityReport } from '../../lib/cleaning/data-quality-report';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { stubActivities } from '../support/stub-activities';
import { createTestWorker, newTaskQueue, startStubbedRun, STUBBED_RUN_INPUT, untilStatus, timeSkippingServerPerFile } from '../support/time-skipping-server';

jest.setTimeout(30_000);

const server = timeSkippingServerPerFile();

const FINGERPRINT = { size: 12_345, mtime: '2026-11-30T08:00:00.000Z', sha256: 'cd'.repeat(32) };
const SHEETS = ['2011-Q1', '2011-Q2', '2011-Q3', '2011-Q4'];
const FOUR_SHEETS: LoadPlan = {
  files: [{ file: 'orders.xlsx', ...FINGERPRINT, sheets: SHEETS }],
  parts: SHEETS.map((sheet) => ({ file: 'orders.xlsx', sheet, fingerprint: FINGERPRINT })),
  skippedSheets: [],
};

/** Load stubs that count the sheets in flight; each waits until `release` says it may finish. */
function loadingSheets(release: (inFlight: number, started: number) => boolean) {
  let inFlight = 0;
  let started = 0;
  let most = 0;
  const waiting: Array<() => void> = [];
  const wake = () => {
    while (waiting.length > 0 && release(inFlight, started)) waiting.shift()!();
  };
  const stubs = stubActivities({
    planLoad: async () => FOUR_SHEETS,
    loadWorkbookPart: async () => {
      inFlight += 1;
      started += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        wake();
      });
      inFlight -= 1;
      wake();
      return { ...emptyDataQualityReport(), rowsRead: 12, rowsKept: 10, newestInvoiceDate: '2011-12-09T12:50:00' };
    },
  });
  return { stubs, most: () => most };
}

test('with `loadActivities: 2` the load runs two sheets at a time, the next starting as one ends', async () => {
  const taskQueue = newTaskQueue('load-in-turns');
  // A sheet may finish only once two are in flight (or the last one runs): a cap of one would hang here, no cap would show 4.
  const { stubs, most } = loadingSheets((inFlight, started) => inFlight >= 2 || started === SHEETS.length);
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  const done = await worker.runUntil(async () => await (await startStubbedRun(server.env, taskQueue, { ...STUBBED_RUN_INPUT, loadActivities: 2 })).result());
  expect(done.status).toBe('completed');
  expect(most()).toBe(2);
  expect(stubs.calls.loadWorkbookPart).toBe(4);
  expect(done.steps.load.counts).toMatchObject({ rowsRead: 48, rowsKept: 40 });
});

test('with `loadActivities` at least the sheets, every sheet starts at once', async () => {
  const taskQueue = newTaskQueue('load-at-once');
  const { stubs, most } = loadingSheets(() => most() === SHEETS.length);
  // No sheet may finish before all four have started.
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  const done = await worker.runUntil(async () => await (await startStubbedRun(server.env, taskQueue, { ...STUBBED_RUN_INPUT, loadActivities: 4 })).result());
  expect(done.status).toBe('completed');
  expect(most()).toBe(4);
});

test('a step whose record fails (MySQL down) stops its running activity, waits for an operator with the record\'s error, and `retry` completes the run', async () => {
  const taskQueue = newTaskQueue('record-fails');
  let aggregateCancelled = false;
  let recordFailed = false;
  const stubs = stubActivities({
    recordRunProgress: async (progress) => {
      if (!recordFailed && progress.currentStep === 'aggregate' && progress.status === 'running') {
        recordFailed = true;
        throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
      }
    },
    aggregatePurchases: async () => {
      if (recordFailed && stubs.calls.aggregatePurchases > 1) return { customers: 4, purchases: 7 };
      // The first attempt runs until the workflow cancels it: heartbeats carry the cancel here.
      try {
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(20);
        }
      } catch (error) {
        if (error instanceof CancelledFailure) aggregateCancelled = true;
        throw error;
      }
    },
  });
  const worker = await createTestWorker(server.env, taskQueue, stubs.activities);
  await worker.runUntil(async () => {
    const handle = await startStubbedRun(server.env, taskQueue);
    const waiting = await untilStatus(handle, 'awaiting-operator');
    expect(waiting.failure).toMatchObject({ step: 'aggregate', type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:3306', retryFrom: 'aggregate' });
    // The step's activity was stopped, and had stopped, before the run waited.
    expect(aggregateCancelled).toBe(true);
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry' }] });
    expect((await handle.result()).status).toBe('completed');
  });
  expect(stubs.calls).toMatchObject({ aggregatePurchases: 2, publishPurchaseCounts: 1, publishSegments: 1 });
});
