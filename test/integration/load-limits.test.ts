/**
 * Limits over a whole run, on the real stack: a run with more sheets than `loadActivities` loads
 * them in turns (never more in flight than that) and completes; maxRows and maxDecompressedBytes
 * (the worker's WORKBOOK_MAX_ROWS and WORKBOOK_MAX_DECOMPRESSED_BYTES) hold for all the run's
 * workbooks and sheets together, though each one alone is under them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApplicationFailure } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { SegmentationActivities } from '../../activities';
import { inflatedBytesPerSheet } from '../../activities/run-limits';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { failedRun, historyFacts, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { UCI_HEADER, uciRow, writeWorkbook } from '../unit/support/write-workbook';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'load-limits-'));
const MAX_ROWS = 100;
const IN_FLIGHT = 3;
let maxDecompressedBytes: number;
let env: TestEnvironment;
let published: unknown[];

/** loadWorkbookPart calls as the workers run them: how many at once, at most. */
const loads = { running: 0, most: 0, started: 0, holdUntilStarted: 0 };

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Each load waits until as many run as may (or every one has started), so the cap is reached, not just respected. */
const countLoads = (activities: SegmentationActivities): SegmentationActivities => ({
  ...activities,
  async loadWorkbookPart(input) {
    loads.running += 1;
    loads.started += 1;
    loads.most = Math.max(loads.most, loads.running);
    try {
      await until(() => loads.running >= IN_FLIGHT || loads.started >= loads.holdUntilStarted);
      return await activities.loadWorkbookPart(input);
    } finally {
      loads.running -= 1;
    }
  },
});

beforeAll(async () => {
  expect((await generateWorkbook({ outPath: path.join(dataDir, 'six-sheets.xlsx'), rows: 60, rowsPerSheet: 10, seed: 5 })).sheets).toHaveLength(6);
  for (const [name, seed] of [['rows-a.xlsx', 6], ['rows-b.xlsx', 7]] as const) {
    expect((await generateWorkbook({ outPath: path.join(dataDir, name), rows: 60, rowsPerSheet: 30, seed })).sheets).toHaveLength(2);
  }
  // Few rows, many bytes: long descriptions.
  for (const [name, letter] of [['bytes-a.xlsx', 'a'], ['bytes-b.xlsx', 'b']] as const) {
    const rows = Array.from({ length: 8 }, (_, i) => {
      const row = uciRow(536_365 + i, 1, 2.5, 17_850);
      row[2] = `${letter}${i}`.repeat(8_000);
      return row;
    });
    await writeWorkbook(path.join(dataDir, name), [{ name: 'Online Retail', rows: [UCI_HEADER, ...rows] }]);
  }
  // The byte limit sits above what any other run here inflates, and below both byte workbooks together.
  const inflated = async (file: string, sheets: string[]) =>
    (await inflatedBytesPerSheet(path.join(dataDir, file), file, sheets)).reduce((total, bytes) => total + bytes, 0);
  const bytesA = await inflated('bytes-a.xlsx', ['Online Retail']);
  const bytesB = await inflated('bytes-b.xlsx', ['Online Retail']);
  const others = [
    await inflated('six-sheets.xlsx', ['Online Retail', ...[2, 3, 4, 5, 6].map((n) => `Online Retail ${n}`)]),
    (await inflated('rows-a.xlsx', ['Online Retail', 'Online Retail 2'])) + (await inflated('rows-b.xlsx', ['Online Retail', 'Online Retail 2'])),
  ];
  maxDecompressedBytes = Math.max(bytesA, bytesB, ...others) + 16 * 1024;
  expect(bytesA + bytesB).toBeGreaterThan(maxDecompressedBytes);

  env = await createTestEnvironment('load_limits', { dataDir });
  env.config.runLimits = { maxRows: MAX_ROWS, maxDecompressedBytes };
  // Two workers, two activity slots each: room for more loads at once than the run allows.
  await env.startWorker(countLoads);
  await env.startWorker(countLoads);
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => Object.assign(loads, { running: 0, most: 0, started: 0, holdUntilStarted: 0 }));

/** Runs the workflow (failing at once, not waiting for an operator), expects it to fail, and returns the innermost failure. */
async function failure(input: SegmentationInput): Promise<{ workflowId: string; cause: ApplicationFailure }> {
  published = await env.db('customer_segments').orderBy('CustomerID').select();
  return await failedRun(env.client, env.config, input, 'load-limits');
}

/** Tried once (bad input is not retried), and what is published stays as it was. */
async function expectRefusedOnce(workflowId: string): Promise<void> {
  expect(await env.db('customer_segments').orderBy('CustomerID').select()).toEqual(published);
  const [run] = await env.db('segmentation_runs').where({ workflow_id: workflowId }).select('status');
  expect(run.status).toBe('failed');
  const { attempts } = await historyFacts(env.client, workflowId);
  expect(Math.max(...Object.values(attempts))).toBe(1);
}

test('six sheets, three loads in flight at most: all are loaded, in turns', async () => {
  loads.holdUntilStarted = 6;
  const handle = await startSegmentation(env.client, env.config, { file: 'six-sheets.xlsx', loadActivities: IN_FLIGHT }, 'load-limits');
  const result = await handle.result();
  expect(result.status).toBe('completed');
  expect(result.summary?.rowsRead).toBe(60);
  expect(result.summary?.dataQuality.sheetsRead).toHaveLength(6);
  expect(loads.started).toBe(6);
  expect(loads.most).toBe(IN_FLIGHT);
  // Loading in turns is deterministic: the run's history replays.
  await Worker.runReplayHistory({ workflowBundle: loadWorkflowBundle() }, await handle.fetchHistory(), handle.workflowId);
});

test('sheets under maxRows each, over it together, are refused as one run', async () => {
  const { workflowId, cause } = await failure({ files: ['rows-a.xlsx', 'rows-b.xlsx'] });
  expect(cause.type).toBe('InvalidWorkbookError');
  expect(cause.message).toMatch(/^file "rows-[ab]\.xlsx", sheet "Online Retail( 2)?", row \d+: takes the run past 100 data rows over all its workbooks and sheets/);
  expect(cause.message).toContain('limit maxRows, for the whole run');
  await expectRefusedOnce(workflowId);
});

test('workbooks under maxDecompressedBytes each, over it together, are refused before any sheet loads', async () => {
  const { workflowId, cause } = await failure({ files: ['bytes-a.xlsx', 'bytes-b.xlsx'] });
  expect(cause.type).toBe('InvalidWorkbookError');
  expect(cause.message).toMatch(/^file "bytes-b\.xlsx", sheet "Online Retail": takes the run past [\d.]+ KiB inflated over all its workbooks and sheets/);
  expect(cause.message).toContain('limit maxDecompressedBytes, for the whole run');
  expect(loads.started).toBe(0);
  await expectRefusedOnce(workflowId);
});
