/**
 * MySQL down is retried, not failed: a run started while the database is stopped keeps retrying
 * its first step with backoff, and completes exactly once MySQL is back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackDown, stackUp } from '../../infra/stack/stack';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-outage-'));
let env: TestEnvironment;

beforeAll(async () => {
  await requireManagedServer('mysql');
  env = await createTestEnvironment('mysql_outage', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await stackUp(['mysql']); // whatever happened, leave MySQL running for the next test file
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a run waits out a MySQL outage and then completes exactly', async () => {
  const expected = await generateWorkbook({ outPath: path.join(dataDir, 'small.xlsx'), rows: 5_000, seed: 5 });
  await stackDown(['mysql']);

  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'mysql-outage');
  let pending;
  for (;;) {
    const description = await handle.describe();
    pending = description.raw.pendingActivities?.find((activity) => activity.activityType?.name === 'recordRunStarted');
    if (pending && (pending.attempt ?? 0) >= 3) break;
    expect(description.status.name).toBe('RUNNING');
    await sleep(500);
  }
  expect(pending.lastFailure?.message).toMatch(/ECONNREFUSED|connect/i);

  await stackUp(['mysql']);
  const result = await handle.result();
  expect(result.summary).toMatchObject({ rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });
  expect(await segments(env.db)).toHaveLength(expected.customers);
});
