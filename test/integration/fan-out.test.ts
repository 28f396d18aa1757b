/**
 * The fan-out is exact: a run naming two workbooks (one spread over three sheets, one in the
 * Online Retail II shape with the years on two sheets that share an invoice, and a notes sheet
 * that is skipped) loads one activity per sheet, publishes in three slices of the customers and
 * consumes in three partition groups, on two workers, and ends with exactly what one pass over
 * all the rows gives, each customer published once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { historyFacts, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { writeWorkbook } from '../unit/support/write-workbook';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fan-out-'));
const FILES = ['three-sheets.xlsx', 'online-retail-ii.xlsx'];
const RETAIL_II_HEADER = ['Invoice', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'Price', 'Customer ID', 'Country'];
let env: TestEnvironment;
let generated: GeneratedWorkbook;
/**
 * What one pass over every row should give, known without reading the files back or using the
 * project's cleaning code: the invoices each customer's kept rows hold, by customer.
 */
const invoicesByCustomer = new Map<number, Set<string>>();
const addPurchase = (customerId: number, invoiceNo: string) => {
  if (!invoicesByCustomer.has(customerId)) invoicesByCustomer.set(customerId, new Set());
  invoicesByCustomer.get(customerId)!.add(invoiceNo);
};

beforeAll(async () => {
  env = await createTestEnvironment('fan_out', { dataDir });
  await env.startWorker();
  await env.startWorker();
  // The generator says which rows it drew to be kept (and so which pairs they hold).
  generated = await generateWorkbook({ outPath: path.join(dataDir, FILES[0]), rows: 9_000, rowsPerSheet: 3_500, seed: 61, onKeptRow: addPurchase });
  expect(generated.sheets).toHaveLength(3);
  const line = (invoice: string | number, customer: number | null, quantity = 1) =>
    [invoice, '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', quantity, new Date(Date.UTC(2010, 11, 3)), 2.55, customer, 'United Kingdom'];
  await writeWorkbook(path.join(dataDir, FILES[1]), [
    { name: 'Notes', rows: [['Exported from the shop, years on separate sheets']] },
    // The years overlap in December 2010: invoice 536400 is on both sheets and counts once.
    { name: 'Year 2009-2010', rows: [RETAIL_II_HEADER, line(489434, 13085), line(489435, 13085), line(536400, 12346), line('C489449', 12346, -1)] },
    { name: 'Year 2010-2011', rows: [RETAIL_II_HEADER, line(536400, 12346), line(536401, 12346), line(536402, 13085), line(536403, null)] },
  ]);
  // Its eight rows' pairs by hand: the cancellation C489449 and the guest's 536403 are dropped.
  for (const [customerId, invoiceNo] of [[13085, '489434'], [13085, '489435'], [12346, '536400'], [12346, '536400'], [12346, '536401'], [13085, '536402']] as const) {
    addPurchase(customerId, invoiceNo);
  }
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('two workbooks, five transaction sheets, three consumers: the result is exactly one pass over all rows', async () => {
  const expected = [...invoicesByCustomer]
    .sort(([a], [b]) => a - b)
    .map(([CustomerID, invoices]) => ({ CustomerID, PurchaseCount: invoices.size, FrequencyCategory: invoices.size > 5 ? 'High Frequency' : 'Low Frequency' }));
  const high = expected.filter((row) => row.FrequencyCategory === 'High Frequency').length;
  const summary = {
    rowsRead: generated.rowsRead + 8,
    rowsKept: generated.rowsKept + 6,
    customers: expected.length,
    low: expected.length - high,
    high,
    purchases: expected.reduce((sum, row) => sum + row.PurchaseCount, 0),
  };

  const handle = await startSegmentation(env.client, env.config, { files: FILES, publishActivities: 3, classifyActivities: 3 }, 'fan-out');
  const result: SegmentationProgress = await handle.result();

  expect(await segments(env.db)).toEqual(expected);
  expect(result.summary).toMatchObject({ ...summary, messagesPublished: expected.length, customersConsumed: expected.length });
  const { dataQuality } = result.summary!;
  expect(dataQuality.sheetsRead?.map(({ file, sheet }) => `${file}/${sheet}`)).toEqual([
    'three-sheets.xlsx/Online Retail',
    'three-sheets.xlsx/Online Retail 2',
    'three-sheets.xlsx/Online Retail 3',
    'online-retail-ii.xlsx/Year 2009-2010',
    'online-retail-ii.xlsx/Year 2010-2011',
  ]);
  expect(dataQuality.skippedSheets).toEqual([expect.objectContaining({ file: 'online-retail-ii.xlsx', sheet: 'Notes' })]);
  expect(result.files?.map((file) => file.sheets.length)).toEqual([3, 2]);
  // Customer 12346 of the second workbook: invoices 536400 (on both sheets) and 536401.
  const history = await env.db(TABLES.segmentHistory).where({ RunId: result.runId, CustomerID: 12346 }).first('PurchaseCount');
  expect(history.PurchaseCount).toBe(expected.find((row) => row.CustomerID === 12346)!.PurchaseCount);

  const scheduled: Record<string, number> = {};
  for (const event of (await historyFacts(env.client, handle.workflowId)).history.events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) scheduled[type] = (scheduled[type] ?? 0) + 1;
  }
  expect(scheduled).toMatchObject({ planLoad: 1, loadWorkbookPart: 5, publishPurchaseCounts: 3, classifyCustomers: 3, reconcileRun: 1 });
});
