/**
 * The nightly run as a Temporal Schedule: `segment schedule create` makes it, `trigger` runs it
 * now (as the UI's "Trigger" button does), and the run it starts completes like any other.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { segment } from '../support/segment-cli';
import { segments } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'schedule-'));
const scheduleId = `test-nightly-${randomBytes(3).toString('hex')}`;
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment('schedule', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await env.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a schedule created from the CLI starts runs that complete', async () => {
  const expected = await generateWorkbook({ outPath: path.join(dataDir, 'nightly.xlsx'), rows: 3_000, seed: 11 });
  await segment(['schedule', 'create', '--file', path.join(dataDir, 'nightly.xlsx'), '--id', scheduleId, '--cron', '0 2 * * *'], env.env);

  const description = await env.client.schedule.getHandle(scheduleId).describe();
  expect(description.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'customerSegmentation', taskQueue: env.config.taskQueue });
  expect(description.action.type === 'startWorkflow' && description.action.args).toEqual([{ file: 'nightly.xlsx' }]);

  await segment(['schedule', 'trigger', '--id', scheduleId], env.env);
  let workflowId: string | undefined;
  while (!workflowId) {
    await sleep(250);
    workflowId = (await env.client.schedule.getHandle(scheduleId).describe()).info.recentActions[0]?.action.workflow.workflowId;
  }
  const result: SegmentationProgress = await env.client.workflow.getHandle(workflowId).result();
  expect(result.summary).toMatchObject({ rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });
  expect(await segments(env.db)).toHaveLength(expected.customers);

  await segment(['schedule', 'delete', '--id', scheduleId], env.env);
  await expect(env.client.schedule.getHandle(scheduleId).describe()).rejects.toThrow();
});
