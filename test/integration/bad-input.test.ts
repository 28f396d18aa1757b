/**
 * Bad input fails fast and clearly: a broken or misshapen workbook, or a wrong workflow field,
 * ends the run at the first attempt with a non-retryable failure that names the problem, and
 * writes nothing to the results.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApplicationFailure } from '@temporalio/client';
import ExcelJS from 'exceljs';
import { TRANSACTION_COLUMNS } from '../../lib/workbook/transaction-columns';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { progressQuery } from '../../workflows/segmentation-progress';
import { failedRun, historyFacts } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

let env: TestEnvironment;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));

beforeAll(async () => {
  const good = ['536365', '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', 6, new Date('2010-12-01T08:26:00Z'), 2.55, 17850, 'United Kingdom'];
  await writeWorkbook('bad-quantity.xlsx', [[...TRANSACTION_COLUMNS], good, good, ['536366', '22633', 'HAND WARMER', 'six', new Date(), 1.85, 17850, 'United Kingdom']]);
  await writeWorkbook('missing-column.xlsx', [TRANSACTION_COLUMNS.filter((name) => name !== 'CustomerID'), good.slice(0, 7)]);
  fs.writeFileSync(path.join(dataDir, 'not-a-workbook.xlsx'), 'InvoiceNo,StockCode\n536365,85123A\n');
  env = await createTestEnvironment('bad_input', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function writeWorkbook(name: string, rows: unknown[][]): Promise<void> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Online Retail');
  for (const row of rows) sheet.addRow(row);
  await workbook.xlsx.writeFile(path.join(dataDir, name));
}

/** Runs the workflow (failing at once, not waiting for an operator), expects it to fail, and returns the innermost failure. */
async function failure(input: SegmentationInput): Promise<{ workflowId: string; cause: ApplicationFailure }> {
  return await failedRun(env.client, env.config, input, 'bad-input');
}

async function expectNothingWritten(workflowId: string, errorText: string): Promise<void> {
  expect(await env.db('customer_segments').count({ n: '*' })).toEqual([{ n: 0 }]);
  expect(await env.db('staging_customer_invoices').count({ n: '*' })).toEqual([{ n: 0 }]);
  const [run] = await env.db('segmentation_runs').where({ workflow_id: workflowId }).select('status', 'error');
  expect(run.status).toBe('failed');
  expect(run.error).toContain(errorText);
  // Tried once: retrying cannot fix bad input.
  const { attempts } = await historyFacts(env.client, workflowId);
  expect(Object.keys(attempts)).toContain('planLoad');
  expect(Math.max(...Object.values(attempts))).toBe(1);
}

test('a cell that is not a number names the file, sheet, row and column', async () => {
  const { workflowId, cause } = await failure({ file: 'bad-quantity.xlsx' });
  // Its type is in the retry policy's nonRetryableErrorTypes; expectNothingWritten checks the single attempt.
  expect(cause.type).toBe('InvalidWorkbookError');
  expect(cause.message).toContain('file "bad-quantity.xlsx"');
  expect(cause.message).toContain('sheet "Online Retail"');
  expect(cause.message).toContain('row 4');
  expect(cause.message).toContain('column Quantity');
  await expectNothingWritten(workflowId, 'row 4');
  // The failed run says where it stopped, to the CLI and the UI alike.
  const progress = await env.client.workflow.getHandle(workflowId).query(progressQuery);
  expect(progress).toMatchObject({ status: 'failed', currentStep: 'load', steps: { load: { status: 'failed' }, aggregate: { status: 'pending' } } });
  expect(progress.error).toContain('column Quantity');
});

test('a missing header column is named', async () => {
  const { workflowId, cause } = await failure({ file: 'missing-column.xlsx' });
  expect(cause.type).toBe('InvalidWorkbookError');
  expect(cause.message).toContain('CustomerID');
  await expectNothingWritten(workflowId, 'CustomerID');
});

test('a file that is not a workbook is refused without a retry', async () => {
  const { workflowId, cause } = await failure({ file: 'not-a-workbook.xlsx' });
  expect(cause.type).toBe('InvalidWorkbookError');
  expect(cause.message).toContain('not-a-workbook.xlsx');
  await expectNothingWritten(workflowId, 'not-a-workbook.xlsx');
});

test('a workbook outside DATA_DIR is never opened', async () => {
  const { cause } = await failure({ file: '../../etc/passwd' });
  expect(cause.type).toBe('InvalidInputError');
  expect(cause.message).toContain('"file"');
});

test('a wrong input field fails the run at once, naming the field', async () => {
  const { workflowId, cause } = await failure({ file: 'bad-quantity.xlsx', threshold: -1 });
  expect(cause.type).toBe('InvalidInputError');
  expect(cause.message).toContain('"threshold"');
  expect((await historyFacts(env.client, workflowId)).attempts).toEqual({});
});
