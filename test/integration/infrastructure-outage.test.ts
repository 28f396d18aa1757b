/**
 * Broken infrastructure is retried, not failed: with Kafka or MySQL stopped, the step that needs
 * it fails attempt after attempt (visible in the UI as a pending activity with its last failure
 * and attempt count); once the server is back the same run completes with the right result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackDown, stackUp } from '../../infra/stack/stack';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outage-'));
let env: TestEnvironment;

beforeAll(async () => {
  await requireManagedServer('kafka');
  await requireManagedServer('mysql');
  env = await createTestEnvironment('outage', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await stackUp(['kafka', 'mysql']); // whatever happened, leave both running for the next test file
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.each([
  // Kafka is first needed when publishing; MySQL at once, to record the run.
  { server: 'kafka', waitingStep: 'publishPurchaseCounts', seed: 3 },
  { server: 'mysql', waitingStep: 'recordRunStarted', seed: 5 },
] as const)('a run waits out a $server outage and then completes exactly', async ({ server, waitingStep, seed }) => {
  const file = `${server}.xlsx`;
  const expected = await generateWorkbook({ outPath: path.join(dataDir, file), rows: 5_000, seed });
  await stackDown([server]);

  const handle = await startSegmentation(env.client, env.config, { file }, `${server}-outage`);
  let pending;
  for (;;) {
    const description = await handle.describe();
    pending = description.raw.pendingActivities?.find((activity) => activity.activityType?.name === waitingStep);
    if (pending && (pending.attempt ?? 0) >= 3) break;
    expect(description.status.name).toBe('RUNNING');
    await sleep(500);
  }
  expect(pending.lastFailure?.message).toMatch(/ECONNREFUSED|connect|broker/i);

  await stackUp([server]);
  const result = await handle.result();
  expect(result.summary).toMatchObject({ rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });
  // Both cases share the database: count this run's rows.
  expect(await env.db('customer_segments').where({ RunId: result.runId }).count({ n: '*' })).toEqual([{ n: expected.customers }]);
});
