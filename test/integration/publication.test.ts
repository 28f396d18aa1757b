/**
 * Publication semantics under overlap: customer_segments always holds exactly one run's result,
 * the one with the newest data that reconciled (on the same data, the later start); every run
 * keeps its own result in the history; a run with older data that reconciles after a newer one
 * has published is superseded, recorded, and changes nothing; a workflow id used again starts a
 * new run, never merged into the old one. The audit is off here (`audit: false`): its checks have
 * tests of their own (audit.test.ts), and these exports differ in size on purpose.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { segment } from '../support/segment-cli';
import { segments, startSegmentation, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'publication-'));
let env: TestEnvironment;
const workbooks: Array<{ file: string; expected: GeneratedWorkbook }> = [];

beforeAll(async () => {
  env = await createTestEnvironment('publication', { dataDir });
  await env.startWorker();
  await env.startWorker();
  // Exports with different customers (each seed picks its own) and sizes, listed by their newest
  // invoice: publication follows the order they are listed in.
  for (let i = 0; i < 10; i++) {
    const file = `export-${i}.xlsx`;
    workbooks.push({ file, expected: await generateWorkbook({ outPath: path.join(dataDir, file), rows: 4_000 + 1_500 * i, seed: 100 + i }) });
  }
  workbooks.sort((a, b) => a.expected.newestInvoiceDate!.localeCompare(b.expected.newestInvoiceDate!));
  expect(new Set(workbooks.map(({ expected }) => expected.newestInvoiceDate)).size).toBe(workbooks.length);
});

const unaudited = (file: string) => ({ file, audit: false as const });

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A run's own result, from the history. */
async function history(runId: string): Promise<SegmentRow[]> {
  return await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
}

function summaryOf(rows: SegmentRow[]) {
  return {
    customers: rows.length,
    low: rows.filter((row) => row.FrequencyCategory === 'Low Frequency').length,
    high: rows.filter((row) => row.FrequencyCategory === 'High Frequency').length,
    purchases: rows.reduce((sum, row) => sum + row.PurchaseCount, 0),
  };
}

test('five runs on five workbooks at once, on two workers: each has exactly its own result, and the table is exactly the newest data', async () => {
  const handles = [];
  for (const { file } of workbooks.slice(0, 5)) handles.push(await startSegmentation(env.client, env.config, unaudited(file), 'five-at-once'));
  const results: SegmentationProgress[] = await Promise.all(handles.map((handle) => handle.result()));

  for (const [i, result] of results.entries()) {
    const { customers, low, high, purchases } = workbooks[i].expected;
    expect(summaryOf(await history(result.runId))).toEqual({ customers, low, high, purchases });
    expect(result.summary).toMatchObject({ customers, low, high, purchases, customersConsumed: customers });
  }
  // The last one holds the newest data: whatever the order they finished in, its result is the table.
  const newest = results[results.length - 1];
  expect(newest.status).toBe('completed');
  expect(await segments(env.db)).toEqual(await history(newest.runId));
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: newest.runId }]);
  expect(await env.db(TABLES.publication).first('run_id')).toEqual({ run_id: newest.runId });
  // The others either published first and were replaced, or found the newer result already there.
  const runs = await env.db(TABLES.runs).whereIn('run_id', results.map((result) => result.runId)).select('run_id', 'status', 'published_at');
  for (const result of results.slice(0, -1)) {
    const run = runs.find((row) => row.run_id === result.runId)!;
    expect(run.status).toBe(result.summary!.published ? 'completed' : 'superseded');
    expect(Boolean(run.published_at)).toBe(result.summary!.published);
  }
});

test('two runs on the same file at once both run; on the same data the later start is what the table holds', async () => {
  const { file, expected } = workbooks[5];
  const older = await startSegmentation(env.client, env.config, unaudited(file), 'same-file');
  const newer = await startSegmentation(env.client, env.config, unaudited(file), 'same-file');
  const [olderResult, newerResult]: SegmentationProgress[] = await Promise.all([older.result(), newer.result()]);
  expect(olderResult.summary).toMatchObject({ customers: expected.customers, low: expected.low, high: expected.high });
  expect(newerResult.summary).toMatchObject({ customers: expected.customers, published: true });
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: newerResult.runId }]);
  // Another export's customers that are absent from this one are gone from the table.
  expect(await segments(env.db)).toEqual(await history(newerResult.runId));
  expect(summaryOf(await segments(env.db)).customers).toBe(expected.customers);
});

test('a run with older data that reconciles after a newer one published is superseded, and leaves the table alone', async () => {
  // The older run waits for an operator (its workbook is not there yet) while a newer run completes.
  const late = 'late.xlsx';
  const older = await startSegmentation(env.client, env.config, unaudited(late), 'older');
  while ((await older.query(progressQuery)).status !== 'awaiting-operator') await sleep(100);
  const newer: SegmentationProgress = await (await startSegmentation(env.client, env.config, unaudited(workbooks[7].file), 'newer')).result();
  const tableBefore = await segments(env.db);

  // Its workbook arrives late, and holds older data than the newer run's.
  fs.copyFileSync(path.join(dataDir, workbooks[6].file), path.join(dataDir, late));
  await older.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', reason: 'workbook arrived' }] });
  const result: SegmentationProgress = await older.result();

  expect(result.status).toBe('superseded');
  expect(result.summary).toMatchObject({ published: false, rowsWritten: 0, supersededBy: newer.runId, customers: workbooks[6].expected.customers });
  expect(await segments(env.db)).toEqual(tableBefore);
  expect(summaryOf(await history(result.runId))).toMatchObject({ customers: workbooks[6].expected.customers });
  const run = await env.db(TABLES.runs).where({ run_id: result.runId }).first('status', 'published_at');
  expect(run).toEqual({ status: 'superseded', published_at: null });
  const { stdout } = await segment(['status', older.workflowId], env.env);
  expect(stdout).toContain('superseded');
});

test('a workflow id used again starts a new run with its own key; the old run is untouched', async () => {
  const workflowId = `reused-${Date.now()}`;
  const first: SegmentationProgress = await (
    await env.client.workflow.start('customerSegmentation', { taskQueue: env.config.taskQueue, workflowId, args: [unaudited(workbooks[8].file)] })
  ).result();
  const second: SegmentationProgress = await (
    await env.client.workflow.start('customerSegmentation', { taskQueue: env.config.taskQueue, workflowId, args: [unaudited(workbooks[9].file)] })
  ).result();

  expect(second.runId).not.toBe(first.runId);
  const runs = await env.db(TABLES.runs).where({ workflow_id: workflowId }).orderBy('started_at').select('run_id', 'status', 'customers');
  expect(runs).toEqual([
    { run_id: first.runId, status: 'completed', customers: workbooks[8].expected.customers },
    { run_id: second.runId, status: 'completed', customers: workbooks[9].expected.customers },
  ]);
  expect(summaryOf(await history(first.runId)).customers).toBe(workbooks[8].expected.customers);
  expect(summaryOf(await history(second.runId)).customers).toBe(workbooks[9].expected.customers);
  // `segment status` shows the newest run of the id, with its key.
  const status = await segment(['status', workflowId, '--json'], env.env);
  expect(status.lastJson).toMatchObject({ workflowId, runId: second.runId, status: 'completed' });
});
