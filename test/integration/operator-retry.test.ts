/**
 * A step that fails for good does not end the run: the run records the failure, waits for an
 * operator, and `segment retry` runs only the failed step and the later ones again (the event
 * history shows the earlier steps ran once), against the real servers and the CLI. Abort, the wait
 * running out and every step's retry-from are orchestration only: test/workflow covers them in
 * seconds (`segment abort` against a real held run: audit.test.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { stackDown, stackUp } from '../../infra/stack/stack';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { DEFAULT_PUBLISH_ACTIVITIES } from '../../workflows/segmentation-input';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { fencedWriteHolds } from '../support/hold-fenced-write';
import { segment } from '../support/segment-cli';
import { historyFacts, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-retry-'));
let env: TestEnvironment;
let expected: GeneratedWorkbook;

/** The MySQL test holds a classify commit while it stops MySQL. */
const holds = fencedWriteHolds();

beforeAll(async () => {
  env = await createTestEnvironment('operator', { dataDir });
  await env.startWorker(undefined, holds.testHooks);
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'source.xlsx'), rows: 12_000, customers: 2_000, seed: 31 });
});

afterAll(async () => {
  await stackUp(['mysql']); // whatever happened, leave MySQL running for the next test file
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Until the run waits for an operator, and (unless MySQL is down) its MySQL record, written by an
 * activity just after the workflow's own state changes, says so too.
 */
async function untilAwaitingOperator(handle: WorkflowHandle, { recorded = true } = {}): Promise<SegmentationProgress> {
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.status === 'awaiting-operator') {
      if (!recorded) return progress;
      const run = await env.db(TABLES.runs).where({ run_id: progress.runId }).first('status');
      if (run?.status === 'awaiting-operator') return progress;
    }
    await sleep(100);
  }
}

/** How many times each activity was scheduled in the run's history (a retry of an attempt is not a new schedule). */
async function scheduled(workflowId: string): Promise<Record<string, number>> {
  const { history } = await historyFacts(env.client, workflowId);
  const counts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

test('a missing workbook: the run waits at load; once the file is there, `segment retry` completes it and only load ran twice', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'arrives-late.xlsx' }, 'missing');
  const waiting = await untilAwaitingOperator(handle);
  expect(waiting.failure).toMatchObject({ step: 'load', type: 'InvalidWorkbookError', retryFrom: 'load' });
  expect(waiting.failure!.message).toContain('arrives-late.xlsx');
  expect(waiting.steps.load.status).toBe('failed');

  // Recorded in MySQL, the UI details and the search attribute, and listed by `segment runs`.
  const run = await env.db(TABLES.runs).where({ run_id: waiting.runId }).first('status', 'current_step', 'error');
  expect(run).toMatchObject({ status: 'awaiting-operator', current_step: 'load' });
  expect(run.error).toContain('arrives-late.xlsx');
  const listed = (await segment(['runs', '--json'], env.env)).lastJson;
  expect(listed[0]).toMatchObject({ workflowId: handle.workflowId, status: 'awaiting-operator', step: 'load' });
  const description = await handle.describe();
  expect(description.searchAttributes.SegmentationStatus).toEqual(['awaiting-operator']);
  // The Temporal UI shows the workflow's current details (served by this built-in query).
  const metadata: { currentDetails?: string } = await handle.query('__temporal_workflow_metadata');
  expect(metadata.currentDetails).toContain('**Step load failed:** InvalidWorkbookError');
  expect(metadata.currentDetails).toContain(`npx segment retry ${handle.workflowId}`);
  // `status` exits with 3: the operator's turn, not a failure.
  await expect(segment(['status', handle.workflowId], env.env)).rejects.toMatchObject({ code: 3 });

  fs.copyFileSync(path.join(dataDir, 'source.xlsx'), path.join(dataDir, 'arrives-late.xlsx'));
  const { lastJson } = await segment(['retry', handle.workflowId, '--reason', 'file delivered', '--wait', '--json'], env.env);
  expect(lastJson).toMatchObject({ status: 'completed', customers: expected.customers, low: expected.low, high: expected.high, rowsWritten: expected.customers });

  const result: SegmentationProgress = await handle.result();
  expect(result.steps.load.runs).toBe(2);
  for (const step of ['aggregate', 'publish', 'classify', 'reconcile'] as const) expect(result.steps[step].runs).toBe(1);
  expect(result.decisions).toEqual([expect.objectContaining({ action: 'retry', step: 'load', reason: 'file delivered' })]);
  expect(await scheduled(handle.workflowId)).toMatchObject({
    planLoad: 2,
    loadWorkbookPart: 1,
    aggregatePurchases: 1,
    publishPurchaseCounts: DEFAULT_PUBLISH_ACTIVITIES, // one per slice, once each
    classifyCustomers: 2, // the default two partition groups, once each
    reconcileRun: 1,
  });
  expect(await segments(env.db)).toHaveLength(expected.customers);

  // A decision for a run that no longer waits is turned away (the workflow tests cover one still running).
  await expect(segment(['retry', handle.workflowId], env.env)).rejects.toThrow(/not waiting for an operator|completed|closed/);
});

test('MySQL stopped during classify with a small attempt cap: the run waits; MySQL back, `segment retry` completes it exactly', async () => {
  await requireManagedServer('mysql');
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', maxAttempts: 2, classifyBatchSize: 1 }, 'mysql-down');
  // MySQL stops while classify holds a batch it read and has not committed, a tenth of the way in:
  // the step cannot finish first, however fast it runs (stopped at a moment the test only observed,
  // a quick classify could end first, and the failure be reconcile's).
  const held = holds.hold(handle, 'classify', Math.floor(expected.customers / 10));
  await held.untilHeld();
  try {
    await stackDown(['mysql']);
  } finally {
    held.release(); // now into a stopped MySQL
  }
  const waiting = await untilAwaitingOperator(handle, { recorded: false });
  expect(waiting.failure).toMatchObject({ step: 'classify', retryFrom: 'classify' });

  await stackUp(['mysql']);
  const { lastJson } = await segment(['retry', handle.workflowId, '--wait', '--json'], env.env);
  expect(lastJson).toMatchObject({ status: 'completed', customers: expected.customers, low: expected.low, high: expected.high });
  expect(lastJson.customersConsumed).toBe(expected.customers);
  expect(lastJson.rowsWritten).toBe(expected.customers);
  const result: SegmentationProgress = await handle.result();
  expect(result.steps.classify.runs).toBe(2);
  for (const step of ['load', 'aggregate', 'publish', 'reconcile'] as const) expect(result.steps[step].runs).toBe(1);
  expect(await scheduled(handle.workflowId)).toMatchObject({ planLoad: 1, aggregatePurchases: 1, publishPurchaseCounts: DEFAULT_PUBLISH_ACTIVITIES, reconcileRun: 1 });
  expect(await env.db(TABLES.runs).where({ run_id: result.runId }).first('status')).toEqual({ status: 'completed' });
});
