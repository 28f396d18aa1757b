/**
 * The run's row in `segmentation_runs` tells the truth to the end: records landing out of order
 * never move it backwards; a run terminated, or past its run timeout, is settled by the sweep
 * (the worker's and `segment runs`') from Temporal's answer, and its staging is then pruned by
 * the retention rules; a record that fails stops its step before the step fails with it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { SegmentationActivities } from '../../activities';
import type { ActivityDependencies } from '../../activities/activity-dependencies';
import { runsToPrune } from '../../activities/prune-staging';
import { createRecordRunProgress, createRecordRunStarted } from '../../activities/record-run';
import { TABLES } from '../../lib/tables';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { customerSegmentation } from '../../workflows';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { resolveInput } from '../../workflows/segmentation-input';
import { newProgress, progressQuery, RECORD_SEQUENCES_PER_MS, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { settleClosedRuns } from '../../workers/settle-closed-runs';
import { startSegmentation } from '../support/run-workflow';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-records-'));
let env: TestEnvironment;

/** Runs whose aggregate step is held (heartbeating) until released or cancelled. */
const holdAggregateOf = new Set<string>();
const aggregateEntered = new Set<string>();
const aggregateCancelled = new Set<string>();
/** Runs whose "running" record of the aggregate step fails for good once the step is under way. */
const failAggregateRecordOf = new Set<string>();
/** Runs whose final "completed" record fails (the workflow logs it and completes anyway). */
const failCompletedRecordOf = new Set<string>();

beforeAll(async () => {
  env = await createTestEnvironment('run_records', { dataDir });
  await env.startWorker(withHooks);
  await generateWorkbook({ outPath: path.join(dataDir, 'small.xlsx'), rows: 2_000, customers: 300, seed: 71 });
});

afterAll(async () => {
  holdAggregateOf.clear();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function withHooks(activities: SegmentationActivities): SegmentationActivities {
  return {
    ...activities,
    async aggregatePurchases(input) {
      if (holdAggregateOf.has(input.runId)) {
        aggregateEntered.add(input.runId);
        const context = Context.current();
        try {
          while (holdAggregateOf.has(input.runId)) {
            context.heartbeat();
            await context.sleep(200);
          }
        } catch (error) {
          aggregateCancelled.add(input.runId);
          throw error;
        }
      }
      return await activities.aggregatePurchases(input);
    },
    async recordRunProgress(progress) {
      if (failAggregateRecordOf.has(progress.runId) && progress.status === 'running' && progress.currentStep === 'aggregate') {
        failAggregateRecordOf.delete(progress.runId);
        await until(() => aggregateEntered.has(progress.runId), 'the held aggregate to start');
        throw ApplicationFailure.nonRetryable('MySQL refused the record (test)', 'RecordRefusedError');
      }
      if (failCompletedRecordOf.has(progress.runId) && progress.status === 'completed') {
        throw ApplicationFailure.nonRetryable('MySQL refused the final record (test)', 'RecordRefusedError');
      }
      return await activities.recordRunProgress(progress);
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await condition()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function runRow(runId: string) {
  return await env.db(TABLES.runs).where({ run_id: runId }).first('status', 'current_step', 'error', 'finished_at', 'record_sequence');
}

async function stagedPairs(runId: string): Promise<number> {
  return Number((await env.db(TABLES.stagingInvoices).where({ run_id: runId }).count({ n: '*' }))[0].n);
}

/** A held run, in its aggregate step, with its "running" record in MySQL (and its pairs staged). */
async function startHeldRun(prefix: string, options: { workflowRunTimeout?: number; workflowId?: string } = {}) {
  const handle =
    options.workflowRunTimeout || options.workflowId
    ? await env.client.workflow.start(customerSegmentation, {
        taskQueue: env.config.taskQueue,
        workflowId: options.workflowId ?? `${prefix}-${Date.now()}`,
        args: [{ file: 'small.xlsx' }],
        workflowRunTimeout: options.workflowRunTimeout,
      })
    : await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, prefix);
  const runId = handle.firstExecutionRunId;
  holdAggregateOf.add(runId);
  await until(() => aggregateEntered.has(runId), 'the aggregate step to start');
  await until(async () => (await runRow(runId))?.current_step === 'aggregate', 'the aggregate step to be recorded');
  expect(await stagedPairs(runId)).toBeGreaterThan(0);
  return { handle, runId };
}

/** Staging of a settled (failed) run: kept STAGING_KEEP_FAILED_HOURS after it closed, then prunable. */
async function expectPrunedAfterRetention(runId: string, closedAt: Date): Promise<void> {
  const { retention } = env.config;
  expect(await runsToPrune(env.db, retention, new Date())).not.toContain(runId);
  const afterRetention = new Date(closedAt.getTime() + retention.keepFailedHours * 3_600_000 + 60_000);
  expect(await runsToPrune(env.db, retention, afterRetention)).toContain(runId);
}

test('records applied out of order never move the row backwards', async () => {
  const dependencies = { db: env.db } as ActivityDependencies;
  const recordRunStarted = createRecordRunStarted(dependencies);
  const recordRunProgress = createRecordRunProgress(dependencies);
  const runId = `out-of-order-${Date.now()}`;
  await recordRunStarted({ runId, workflowId: runId, startedAt: new Date().toISOString(), input: resolveInput({ file: 'small.xlsx' }) });

  const base = newProgress(runId, runId);
  const at = Date.now() * RECORD_SEQUENCES_PER_MS;
  const running: SegmentationProgress = { ...base, currentStep: 'aggregate', recordSequence: at + 1 };
  const awaiting: SegmentationProgress = { ...base, status: 'awaiting-operator', currentStep: 'aggregate', error: 'RecordRefusedError: later', recordSequence: at + 2 };
  // The later record lands first, the step's "running" one after it.
  await recordRunProgress(awaiting);
  await recordRunProgress(running);
  expect(await runRow(runId)).toMatchObject({ status: 'awaiting-operator', error: 'RecordRefusedError: later', record_sequence: at + 2 });
  // A record without a number (sent before records were numbered) does not replace a numbered one either.
  await recordRunProgress({ ...base, status: 'running', recordSequence: undefined });
  expect(await runRow(runId)).toMatchObject({ status: 'awaiting-operator' });
  // A newer one does.
  await recordRunProgress({ ...running, recordSequence: at + 3 });
  expect(await runRow(runId)).toMatchObject({ status: 'running', error: null, record_sequence: at + 3 });
});

test('a run terminated while running is settled by `segment runs` as failed, and its staging is pruned by the retention rules', async () => {
  const { handle, runId } = await startHeldRun('terminated');
  await handle.terminate('test: the operator gave up on it');
  const closedAt = (await handle.describe()).closeTime!;

  const listed = (await segment(['runs', '--json'], env.env)).lastJson as Array<{ runId: string; status: string; step: string }>;
  expect(listed.find((run) => run.runId === runId)).toMatchObject({ status: 'failed', step: 'aggregate' });
  const row = await runRow(runId);
  expect(row).toMatchObject({ status: 'failed', error: 'terminated in Temporal: test: the operator gave up on it' });
  expect(new Date(row.finished_at).getTime()).toBe(closedAt.getTime());

  // A "running" record of the terminated execution that lands late cannot reopen the row.
  const stale: SegmentationProgress = { ...newProgress(runId, handle.workflowId), currentStep: 'aggregate', recordSequence: (closedAt.getTime() - 1) * RECORD_SEQUENCES_PER_MS };
  await createRecordRunProgress({ db: env.db } as ActivityDependencies)(stale);
  expect(await runRow(runId)).toMatchObject({ status: 'failed' });

  await expectPrunedAfterRetention(runId, closedAt);
});

test('a run past its run timeout is settled by a worker at its start, and its staging is pruned by the retention rules', async () => {
  // Long enough for the load on a busy machine; the run then times out inside its held aggregate.
  const { handle, runId } = await startHeldRun('timed-out', { workflowRunTimeout: 15_000 });
  await until(async () => (await handle.describe()).status.name === 'TIMED_OUT', 'the run timeout to elapse');
  const closedAt = (await handle.describe()).closeTime!;
  expect(await runRow(runId)).toMatchObject({ status: 'running' });

  const worker = await env.startWorker(withHooks);
  await until(async () => (await runRow(runId))?.status !== 'running', 'the new worker to settle the run', 30_000);
  worker.worker.shutdown();
  const row = await runRow(runId);
  expect(row).toMatchObject({ status: 'failed', current_step: 'aggregate' });
  expect(row.error).toMatch(/^timed out in Temporal/);
  expect(new Date(row.finished_at).getTime()).toBe(closedAt.getTime());
  await expectPrunedAfterRetention(runId, closedAt);
});

test('a record that fails stops its step, which then fails with the record error and waits for an operator', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'record-fails');
  const runId = handle.firstExecutionRunId;
  holdAggregateOf.add(runId);
  failAggregateRecordOf.add(runId);
  let progress: SegmentationProgress | undefined;
  await until(async () => (progress = await handle.query(progressQuery).catch(() => undefined))?.status === 'awaiting-operator', 'the run to wait for an operator');
  // The held step saw the cancel before the run moved on: it was not left running unobserved.
  expect(aggregateCancelled.has(runId)).toBe(true);
  expect(progress!.failure).toMatchObject({ step: 'aggregate', type: 'RecordRefusedError', message: 'MySQL refused the record (test)' });
  await until(async () => (await runRow(runId))?.status === 'awaiting-operator', 'the awaiting-operator record');

  holdAggregateOf.delete(runId);
  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', reason: 'test over' }] });
  await expect(handle.result()).rejects.toThrow();
  expect(await runRow(runId)).toMatchObject({ status: 'failed' });
});

test('a run whose workflow id was used again is settled from its own chain, not the newer run', async () => {
  const workflowId = `reused-${Date.now()}`;
  const first = await startHeldRun('reused', { workflowId });
  await first.handle.terminate('test: replaced');
  const second = await startHeldRun('reused', { workflowId });

  const settled = await settleClosedRuns(env.db, env.client);
  expect(settled.filter((run) => run.workflowId === workflowId).map((run) => [run.runId, run.closedAs, run.status])).toEqual([[first.runId, 'TERMINATED', 'failed']]);
  expect(await runRow(first.runId)).toMatchObject({ status: 'failed', error: 'terminated in Temporal: test: replaced' });
  expect(await runRow(second.runId)).toMatchObject({ status: 'running' });
  await second.handle.terminate('test over');
});

test('a run whose final record failed is settled from its result', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'final-record-lost');
  const runId = handle.firstExecutionRunId;
  failCompletedRecordOf.add(runId);
  const result: SegmentationProgress = await handle.result();
  expect(result.status).toBe('completed');
  expect(await runRow(runId)).toMatchObject({ status: 'running' });

  const settled = await settleClosedRuns(env.db, env.client);
  expect(settled.find((run) => run.runId === runId)).toMatchObject({ closedAs: 'COMPLETED', status: 'completed' });
  const row = await env.db(TABLES.runs).where({ run_id: runId }).first('status', 'current_step', 'customers', 'low_frequency', 'high_frequency', 'finished_at');
  expect(row).toMatchObject({ status: 'completed', current_step: null, customers: result.summary!.customers, low_frequency: result.summary!.low, high_frequency: result.summary!.high });
  expect(row.finished_at).not.toBeNull();
});
