/**
 * Broken infrastructure is retried, not failed: with the Kafka broker stopped, the publish step
 * fails attempt after attempt (visible in the UI as a pending activity with its last failure);
 * once the broker is back the same run completes with the right result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackDown, stackUp } from '../../infra/stack/stack';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { historyFacts, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-outage-'));
let env: TestEnvironment;

beforeAll(async () => {
  await requireManagedServer('kafka');
  env = await createTestEnvironment('kafka_outage', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await stackUp(['kafka']); // whatever happened, leave the broker running for the next test file
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a run waits out a Kafka outage and then completes exactly', async () => {
  const expected = await generateWorkbook({ outPath: path.join(dataDir, 'small.xlsx'), rows: 5_000, seed: 3 });
  await stackDown(['kafka']);

  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'kafka-outage');
  // Wait until the publish step has failed at least twice against the stopped broker.
  let publish;
  for (;;) {
    const description = await handle.describe();
    publish = description.raw.pendingActivities?.find((activity) => activity.activityType?.name === 'publishPurchaseCounts');
    if (publish && (publish.attempt ?? 0) >= 3) break;
    expect(description.status.name).toBe('RUNNING');
    await sleep(500);
  }
  expect(publish.lastFailure?.message).toMatch(/connect|ECONNREFUSED|broker/i);

  await stackUp(['kafka']);
  const result = await handle.result();
  expect(result.summary).toMatchObject({ rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });
  expect(await segments(env.db)).toHaveLength(expected.customers);
  expect((await historyFacts(env.client, handle.workflowId)).attempts.publishPurchaseCounts).toBeGreaterThanOrEqual(3);
});
