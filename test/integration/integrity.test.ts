/**
 * What reaches MySQL fits it, and means the same there as in the dry run: invoice numbers that
 * differ in case, inner spaces or their last of 32 characters are different invoices in both;
 * values the schema cannot hold are refused by the reader with file, sheet, row and column; a
 * statement slower than the heartbeat timeout is not mistaken for a dead worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SegmentationActivities } from '../../activities';
import { TABLES } from '../../lib/tables';
import { CUSTOMER_ID_MAX, INVOICE_NO_MAX_LENGTH } from '../../lib/segmentation/business-keys';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { historyFacts, innermostFailure, rfmSegments, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { UCI_HEADER, uciRow, writeWorkbook } from '../unit/support/write-workbook';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-'));
let env: TestEnvironment;
/** The aggregate of these runs finds the staged pairs locked for a while, as a busy server would. */
const slowAggregate = new Set<string>();
const LOCK_SECONDS = 20;

beforeAll(async () => {
  env = await createTestEnvironment('integrity', { dataDir });
  await env.startWorker(withLockedStaging);
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function withLockedStaging(activities: SegmentationActivities): SegmentationActivities {
  return {
    ...activities,
    async aggregatePurchases(input) {
      if (slowAggregate.has(input.runId)) {
        // Another session holds the run's staged pairs, so the aggregate's INSERT … SELECT waits.
        const locked = new Promise<void>((lockTaken) => {
          void env.db.transaction(async (trx) => {
            await trx(TABLES.stagingInvoices).where({ run_id: input.runId }).forUpdate().select('CustomerID');
            lockTaken();
            await new Promise((resolve) => setTimeout(resolve, LOCK_SECONDS * 1000));
          });
        });
        await locked;
      }
      return await activities.aggregatePurchases(input);
    },
  };
}

test('the dry run and the SQL path count the same distinct invoices on dirty invoice numbers', async () => {
  const long = 'X'.repeat(INVOICE_NO_MAX_LENGTH - 1);
  const rows = [
    // Customer 1: case and inner spaces make different invoices; outer spaces and number vs text do not.
    ['A1', 'a1', ' A1 ', 'A 1', 'A  1', 'A1'],
    // Customer 2: the same invoice as a number and as text, padded.
    [536365, '536365', ' 536365 ', 536366],
    // Customer 3: 32-character invoice numbers that differ only in the last character.
    [`${long}a`, `${long}b`, `${long}A`, `${long}a`],
    // Customer 4: non-ASCII invoice numbers (ß and SS are not the same).
    ['Straße-1', 'STRASSE-1', 'straße-1', 'Straße-1'],
  ];
  const file = 'dirty-invoices.xlsx';
  await writeWorkbook(path.join(dataDir, file), [
    { name: 'Online Retail', rows: [UCI_HEADER, ...rows.flatMap((invoices, i) => invoices.map((invoice) => uciRow(invoice, 1, 1.5, i + 1)))] },
  ]);

  const preview = await previewWorkbook({ filePath: path.join(dataDir, file), displayName: file, threshold: 2 });
  const dryRun = new Map(preview.topCustomers.map((customer) => [customer.customerId, customer.purchaseCount]));
  expect(Object.fromEntries(dryRun)).toEqual({ 1: 4, 2: 2, 3: 3, 4: 3 });

  const result: SegmentationProgress = await (await startSegmentation(env.client, env.config, { file, threshold: 2 }, 'dirty')).result();
  const table = await segments(env.db);
  expect(Object.fromEntries(table.map((row) => [row.CustomerID, row.PurchaseCount]))).toEqual(Object.fromEntries(dryRun));
  expect(result.summary).toMatchObject({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases });
});

test('an invoice in two files of one run counts once, with the later file\'s lines only', async () => {
  // Customer 1's invoice 536365 was re-exported in the later file with a corrected quantity.
  await writeWorkbook(path.join(dataDir, 'week-1.xlsx'), [
    { name: 'Online Retail', rows: [UCI_HEADER, uciRow(536365, 1, 10, 1), uciRow(536365, 1, 0.5, 1), uciRow(536366, 1, 2, 1), uciRow(536367, 3, 1, 2)] },
  ]);
  await writeWorkbook(path.join(dataDir, 'week-2.xlsx'), [{ name: 'Online Retail', rows: [UCI_HEADER, uciRow(536365, 2, 10, 1), uciRow(536368, 1, 4, 2)] }]);
  const handle = await startSegmentation(env.client, env.config, { files: ['week-1.xlsx', 'week-2.xlsx'], threshold: 1, audit: false }, 'two-files');
  const result: SegmentationProgress = await handle.result();
  const table = await rfmSegments(env.db, result.runId);
  // Customer 1: 536365 (20.00 from week 2, not week 1's 10.50) and 536366 (2.00); customer 2: 3.00 + 4.00.
  expect(table.map(({ CustomerID, PurchaseCount, Monetary }) => ({ CustomerID, PurchaseCount, Monetary: Number(Monetary) }))).toEqual([
    { CustomerID: 1, PurchaseCount: 2, Monetary: 22 },
    { CustomerID: 2, PurchaseCount: 2, Monetary: 7 },
  ]);
  expect(result.invoices).toMatchObject({ invoices: 4 });
});

test.each([
  { what: 'an invoice number longer than the column', column: 'InvoiceNo', cell: 'C'.repeat(INVOICE_NO_MAX_LENGTH + 1), customer: 17850 },
  { what: 'a CustomerID beyond an unsigned INT', column: 'CustomerID', cell: '536365', customer: CUSTOMER_ID_MAX + 1 },
])('$what is refused by the reader, naming file, sheet, row and column; nothing is written', async ({ column, cell, customer }) => {
  const before = await segments(env.db);
  const file = `too-big-${column}.xlsx`;
  await writeWorkbook(path.join(dataDir, file), [
    { name: 'Online Retail', rows: [UCI_HEADER, uciRow('536364', 1, 1.5, 17850), uciRow(cell, 1, 1.5, customer)] },
  ]);
  const handle = await startSegmentation(env.client, env.config, { file, operatorWait: 0 }, 'too-big');
  const failure = await innermostFailure(handle);
  expect(failure.type).toBe('InvalidWorkbookError');
  expect(failure.message).toContain(`file "${file}"`);
  expect(failure.message).toContain('sheet "Online Retail"');
  expect(failure.message).toContain('row 3');
  expect(failure.message).toContain(`column ${column}`);
  expect(await segments(env.db)).toEqual(before);
  expect(Math.max(...Object.values((await historyFacts(env.client, handle.workflowId)).attempts))).toBe(1);
});

test(`an aggregate held up ${LOCK_SECONDS}s (past the heartbeat timeout) keeps heartbeating and finishes in its first attempt`, async () => {
  const file = 'slow.xlsx';
  await writeWorkbook(path.join(dataDir, file), [
    { name: 'Online Retail', rows: [UCI_HEADER, ...Array.from({ length: 50 }, (_, i) => uciRow(536365 + i, 1, 1.5, 12346 + (i % 7)))] },
  ]);
  // Seven customers after bigger exports: the audit would hold it; this test is about the heartbeat.
  const handle = await startSegmentation(env.client, env.config, { file, audit: false }, 'slow-aggregate');
  slowAggregate.add(handle.firstExecutionRunId); // the run's key
  const result: SegmentationProgress = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.steps.aggregate.seconds).toBeGreaterThanOrEqual(LOCK_SECONDS - 1);
  expect((await historyFacts(env.client, handle.workflowId)).attempts.aggregatePurchases).toBe(1);
  expect(result.summary).toMatchObject({ customers: 7, purchases: 50 });
});
