/**
 * The `segment` command end to end on a generated workbook: `generate` writes it and knows the
 * answer, `run --dry-run` previews it without servers, `run --wait --json` and `status` report
 * the same figures from the real pipeline, and `report` reads them back from MySQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TABLES } from '../../lib/tables';
import { segment, segmentExit } from '../support/segment-cli';
import { segments } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-cli-'));
const workbook = path.join(dataDir, 'generated.xlsx');
let env: TestEnvironment;
let expected: Record<string, any>;

beforeAll(async () => {
  env = await createTestEnvironment('segment_cli', { dataDir });
  await env.startWorker();
  expected = (await segment(['generate', '--rows', '30000', '--seed', '7', '--out', workbook, '--json'], env.env)).lastJson;
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('generate writes a dirty workbook with both kinds of customer', () => {
  expect(fs.existsSync(workbook)).toBe(true);
  expect(expected.rowsRead).toBe(30_000);
  expect(expected.low).toBeGreaterThan(0);
  expect(expected.high).toBeGreaterThan(0);
  for (const count of Object.values(expected.dirt as Record<string, number>)) expect(count).toBeGreaterThan(0);
});

test('run --wait --json ends with the contract JSON line, equal to the generator\'s answer', async () => {
  const { lastJson, stderr } = await segment(['run', '--file', workbook, '--wait', '--json'], env.env);
  expect(lastJson).toMatchObject({
    status: 'completed',
    rowsRead: expected.rowsRead,
    rowsKept: expected.rowsKept,
    customers: expected.customers,
    low: expected.low,
    high: expected.high,
    purchases: expected.purchases,
  });
  expect(lastJson.workflowId).toMatch(/^customer-segmentation-/);
  expect(lastJson.published).toBe(true);
  expect(lastJson.files).toEqual([expect.objectContaining({ file: 'generated.xlsx', size: fs.statSync(workbook).size, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  expect(lastJson.dataQuality.rowsDropped).toEqual(expected.rowsDropped);
  // Without a terminal the progress bars become one line per finished step.
  expect(stderr).toContain('Load and clean the workbook: done');
  expect(stderr).toContain('Publish to customer_segments: done');

  const table = await segments(env.db);
  expect(table).toHaveLength(expected.customers);

  const status = await segment(['status', lastJson.workflowId, '--json'], env.env);
  expect(status.lastJson).toMatchObject({ workflowId: lastJson.workflowId, status: 'completed', customers: expected.customers });

  // The UI's run list can filter on the custom search attributes (visibility is eventually consistent).
  const query = `WorkflowId = '${lastJson.workflowId}' AND SegmentationStatus = 'completed' AND SegmentationStep = 'done'`;
  let listed: string[] = [];
  for (let tries = 0; tries < 40 && listed.length === 0; tries++) {
    listed = [];
    for await (const execution of env.client.workflow.list({ query })) listed.push(execution.workflowId);
    if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(listed).toEqual([lastJson.workflowId]);

  const report = await segment(['report', '--json'], env.env);
  expect(report.lastJson.categories).toEqual([
    { FrequencyCategory: 'Low Frequency', Customers: expected.low },
    { FrequencyCategory: 'High Frequency', Customers: expected.high },
  ]);
});

test('run --dry-run previews the same figures without touching the servers', async () => {
  const { lastJson } = await segment(['run', '--file', workbook, '--dry-run', '--json'], {
    ...env.env,
    // Point the servers somewhere dead: the dry run must not need them.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    KAFKA_BROKERS: '127.0.0.1:1',
    MYSQL_URL: 'mysql://nobody:nothing@127.0.0.1:1/none',
  });
  expect(lastJson).toMatchObject({
    status: 'dry-run',
    rowsRead: expected.rowsRead,
    rowsKept: expected.rowsKept,
    customers: expected.customers,
    low: expected.low,
    high: expected.high,
  });
});

test('run --dry-run refuses --mode and --window, which it cannot preview', async () => {
  for (const flags of [['--mode', 'append'], ['--window', '90d']]) {
    const refused = await segmentExit(['run', '--file', workbook, '--dry-run', ...flags], env.env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--dry-run previews the file as a snapshot with window all: leave out --mode and --window');
  }
});

test('a path outside DATA_DIR is refused by the CLI', async () => {
  await expect(segment(['run', '--file', '/etc/hosts', '--wait'], env.env)).rejects.toThrow(/not inside DATA_DIR/);
});

test('a customer that moves category between runs shows in report --moved', async () => {
  // A threshold of 10 instead of 5 moves every customer with 6 to 10 invoices from High to Low.
  const first = await segment(['run', '--file', workbook, '--wait', '--json'], env.env);
  // Moving customers on purpose: the audit would hold it (audit.test.ts shows that).
  const second = await segment(['run', '--file', workbook, '--threshold', '10', '--no-audit', '--wait', '--json'], env.env);
  expect(second.lastJson.high).toBeLessThan(first.lastJson.high);
  const { lastJson } = await segment(['report', '--moved', '--json'], env.env);
  expect(lastJson.moved.length).toBe(first.lastJson.high - second.lastJson.high);
  for (const row of lastJson.moved) {
    expect(row).toMatchObject({ Before: 'High Frequency', After: 'Low Frequency' });
    expect(row.PurchasesAfter).toBeGreaterThan(5);
    expect(row.PurchasesAfter).toBeLessThanOrEqual(10);
  }
});

test('staging keeps the newest finished runs only, and runs list newest first', async () => {
  // Back to the default threshold after the test above: categories move back, on purpose.
  await segment(['run', '--file', workbook, '--no-audit', '--wait', '--json'], env.env);
  const { keepFinishedRuns } = env.config.retention;
  const runs = await env.db(TABLES.runs).orderBy('started_at', 'desc').pluck('run_id');
  expect(runs.length).toBeGreaterThan(keepFinishedRuns);
  const staged = await env.db(TABLES.stagingInvoices).distinct('run_id');
  expect(staged.map((row) => row.run_id).sort()).toEqual(runs.slice(0, keepFinishedRuns).sort());

  const listed = (await segment(['runs', '--json'], env.env)).lastJson;
  expect(listed.map((run: { runId: string }) => run.runId)).toEqual(runs);
  expect(listed[0]).toMatchObject({ status: 'completed', file: 'generated.xlsx', rowsRead: expected.rowsRead, customers: expected.customers });
});
