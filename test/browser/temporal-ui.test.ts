/**
 * The Temporal Web UI in a real browser (Debian's Chromium, headless), as a person uses it:
 * - Start Workflow form → the run completes in the UI, and MySQL holds its result;
 * - a run whose file is missing → its page shows the clear error and waits for an operator; the
 *   file put in place, the operator's `retry` is sent from the UI (More Actions → Send an Update)
 *   and the run completes;
 * - `segment report --html` of that run opens with nothing fetched, chart and figures shown;
 * - a run its audit holds → its page names the failed check and how to go on; `approve` sent from
 *   the UI publishes it, recorded with who and why.
 * Screenshots of each page land in STACK_DIR/screenshots/browser; DOCS_SCREENSHOTS=1 also copies
 * the docs' into docs/ and fills the form with the task queue docs/operations.md names.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { createSegmentationWorker, type SegmentationWorker } from '../../workers/segmentation-worker';
import { progressQuery } from '../../workflows/segmentation-progress';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { ensureChromium, launchChromium, openOffline, type Browser } from './support/chromium';
import { DOCS_MODE, SCREENSHOT_DIR, screenshot } from './support/screenshots';
import { TemporalUi } from './support/temporal-ui';

// A fresh machine installs Chromium first (apt-get, about half a minute).
jest.setTimeout(240_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-'));
const suffix = randomBytes(3).toString('hex');
const goodRun = DOCS_MODE ? 'segmentation-from-the-ui' : `browser-ui-${suffix}`;
const missingFileRun = DOCS_MODE ? 'segmentation-missing-file' : `browser-ui-missing-file-${suffix}`;
const heldRun = DOCS_MODE ? 'segmentation-held-by-audit' : `browser-ui-held-${suffix}`;
let env: TestEnvironment;
let expected: GeneratedWorkbook;
let browser: Browser;
let ui: TemporalUi;
/** The task queue typed into the form: the docs' in docs mode, else the test's own. */
let taskQueue: string;
let docsWorker: { worker: SegmentationWorker; running: Promise<void> } | undefined;

beforeAll(async () => {
  await ensureChromium((line) => process.stderr.write(`  ${line}\n`));
  env = await createTestEnvironment('browser', { dataDir });
  if (DOCS_MODE) {
    // The docs' task queue; this test's database, topic and DATA_DIR behind it.
    taskQueue = 'customer-segmentation';
    const worker = await createSegmentationWorker({ ...env.config, taskQueue });
    docsWorker = { worker, running: worker.run() };
  } else {
    taskQueue = env.config.taskQueue;
    await env.startWorker();
  }
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'online-retail.xlsx'), rows: 20_000, seed: 5 });
  browser = await launchChromium();
  ui = new TemporalUi(await browser.context.newPage(), env.config.temporalUiUrl, env.config.temporalNamespace);
});

afterAll(async () => {
  await browser?.close();
  if (docsWorker) {
    docsWorker.worker.worker.shutdown();
    await docsWorker.running;
  }
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function customerSegments(where: Record<string, string | number> = {}): Promise<number> {
  const [{ rows }] = await env.db(TABLES.segments).where(where).count({ rows: '*' });
  return Number(rows);
}

async function runRecord(workflowId: string) {
  return await env.db(TABLES.runs).where({ workflow_id: workflowId }).orderBy('started_at', 'desc').first('run_id', 'status', 'files', 'error');
}

test('Start Workflow form: the run completes in the UI, and MySQL holds its result', async () => {
  await ui.fillStartWorkflowForm({ workflowId: goodRun, taskQueue, workflowType: 'customerSegmentation', input: '{"file": "online-retail.xlsx"}' });
  await screenshot(ui.page, 'ui-start-workflow-form', { forDocs: true });
  await ui.submitStartWorkflowForm();

  await ui.openRun(goodRun);
  await ui.waitForStatus('Completed');
  await screenshot(ui.page, 'ui-completed-run', { forDocs: true });
  await ui.openCurrentDetails();
  const details = await ui.waitForCurrentDetails(/Customer segmentation\s*— completed/);
  const number = (value: number) => value.toLocaleString('en-US');
  expect(details).toContain(`${number(expected.customers)} customers: ${number(expected.low)} Low Frequency, ${number(expected.high)} High Frequency`);
  expect(details).toContain('Read online-retail.xlsx');
  await screenshot(ui.page, 'ui-completed-run-details', { forDocs: true });

  const run = await runRecord(goodRun);
  expect(run.status).toBe('completed');
  const categories = await env.db(TABLES.segments).where({ RunId: run.run_id }).groupBy('FrequencyCategory').select('FrequencyCategory', env.db.raw('COUNT(*) AS customers'));
  expect(Object.fromEntries(categories.map((row) => [row.FrequencyCategory, Number(row.customers)]))).toEqual({
    'Low Frequency': expected.low,
    'High Frequency': expected.high,
  });
  expect(await customerSegments()).toBe(expected.customers);
});

test('a missing file: the UI shows the clear error; the file put in place, `retry` sent from the UI completes the run', async () => {
  // A threshold of 4 as well, so the report below has customers who changed category.
  await ui.fillStartWorkflowForm({ workflowId: missingFileRun, taskQueue, workflowType: 'customerSegmentation', input: '{"file": "nope.xlsx", "threshold": 4}' });
  await ui.submitStartWorkflowForm();
  await ui.openRun(missingFileRun);
  await ui.openCurrentDetails();
  const failure = await ui.waitForCurrentDetails(/Step load failed:/);
  // The UI's markdown curls the quotes around the file name.
  expect(failure).toMatch(/Step load failed:\s*InvalidWorkbookError: file .nope\.xlsx.: not found in DATA_DIR/);
  expect(failure).toMatch(/Waiting for an operator until .*operatorDecision.*"action": "retry"/s);
  expect(await ui.status().innerText()).toMatch(/Running/);
  await screenshot(ui.page, 'ui-awaiting-operator', { forDocs: true });
  expect(await runRecord(missingFileRun)).toMatchObject({ status: 'awaiting-operator', error: expect.stringContaining('nope.xlsx') });

  // The operator's side: the file arrives, and the decision goes through the UI's Update form.
  fs.copyFileSync(path.join(dataDir, 'online-retail.xlsx'), path.join(dataDir, 'nope.xlsx'));
  const dialog = await ui.fillUpdate('operatorDecision', '{"action": "retry", "by": "browser test", "reason": "file delivered"}');
  await screenshot(ui.page, 'ui-send-update', { forDocs: true });
  await ui.confirmUpdate(dialog);
  await ui.waitForStatus('Completed');
  await ui.openCurrentDetails();
  await ui.waitForCurrentDetails(/Customer segmentation\s*— completed/);
  await screenshot(ui.page, 'ui-retried-run-details');

  const progress = await env.client.workflow.getHandle(missingFileRun).query(progressQuery);
  expect(progress.decisions).toEqual([expect.objectContaining({ action: 'retry', step: 'load', by: 'browser test', reason: 'file delivered' })]);
  expect(progress.steps.load.runs).toBe(2);
  const run = await runRecord(missingFileRun);
  expect(run.status).toBe('completed');
  expect(await customerSegments({ RunId: run.run_id })).toBe(expected.customers);
});

test('the HTML report of that run opens with nothing fetched, and shows its chart and figures', async () => {
  const out = path.join(SCREENSHOT_DIR, 'run-report.html');
  await segment(['report', missingFileRun, '--html', out], env.env);
  const { page, fetched } = await openOffline(browser, out);
  const chart = page.locator('svg.chart');
  await chart.waitFor();
  expect(await chart.locator('rect').count()).toBeGreaterThan(5);
  // Customers with exactly 5 invoices: Low at the default threshold, High at 4.
  const fives = await customerSegments({ PurchaseCount: 5 });
  const text = await page.locator('main').innerText();
  expect(text).toContain(missingFileRun);
  expect(text).toContain(`${fives} Low → High, 0 High → Low`);
  expect(text).toContain(`Compared with ${goodRun}`);
  await screenshot(page, 'run-report', { fullPage: true, forDocs: true });
  expect(fetched).toEqual([]);
  await page.close();
});

test('a run its audit holds: the UI names the failed check and how to go on; `approve` sent from the UI publishes it', async () => {
  const before = await env.db(TABLES.segments).orderBy('CustomerID').select('*');
  const input = '{"file": "online-retail.xlsx", "audit": {"minCustomers": 100000}}';
  await ui.fillStartWorkflowForm({ workflowId: heldRun, taskQueue, workflowType: 'customerSegmentation', input });
  await ui.submitStartWorkflowForm();
  await ui.openRun(heldRun);
  await ui.openCurrentDetails();
  const held = await ui.waitForCurrentDetails(/Held by its audit/);
  expect(held).toMatch(/minCustomers: [\d,]+ customers \(at least 100,000\)/);
  expect(held).toMatch(/"action": "approve"/);
  expect(await ui.status().innerText()).toMatch(/Running/);
  await screenshot(ui.page, 'ui-held-by-audit', { forDocs: true });
  expect(await env.db(TABLES.segments).orderBy('CustomerID').select('*')).toEqual(before);

  const dialog = await ui.fillUpdate('operatorDecision', '{"action": "approve", "by": "browser test", "reason": "a small shop on purpose"}');
  await screenshot(ui.page, 'ui-approve-update', { forDocs: true });
  await ui.confirmUpdate(dialog);
  await ui.waitForStatus('Completed');
  await ui.openCurrentDetails();
  await ui.waitForCurrentDetails(/approved by browser test/);
  await screenshot(ui.page, 'ui-approved-run-details');

  const run = await runRecord(heldRun);
  expect(run.status).toBe('completed');
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: run.run_id }]);
  const event = await env.db(TABLES.publicationEvents).orderBy('id', 'desc').first('run_id', 'kind', 'decided_by', 'reason');
  expect(event).toEqual({ run_id: run.run_id, kind: 'approved', decided_by: 'browser test', reason: 'a small shop on purpose' });
});
