/**
 * The operations the UI invites, on the real stack: a cancel stops the load promptly and is
 * recorded; a published range that Kafka deleted before it was consumed is a clear,
 * non-retryable failure that an operator's retry mends by publishing again; a failed run keeps
 * its staging, so a reset to just after its load completes it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { SegmentationActivities } from '../../activities';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { untilMidStep } from '../support/mid-step';
import { historyFacts, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lifecycle-'));
let env: TestEnvironment;
let small: GeneratedWorkbook;
let large: GeneratedWorkbook;
/** Runs whose published range Kafka deletes just before their (first) classify, as retention would. */
const deleteRangeOf = new Set<string>();

beforeAll(async () => {
  env = await createTestEnvironment('lifecycle', { dataDir });
  await env.startWorker(withRangeDeletion);
  small = await generateWorkbook({ outPath: path.join(dataDir, 'small.xlsx'), rows: 8_000, seed: 41 });
  large = await generateWorkbook({ outPath: path.join(dataDir, 'large.xlsx'), rows: 150_000, seed: 42 });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function withRangeDeletion(activities: SegmentationActivities): SegmentationActivities {
  return {
    ...activities,
    async classifyCustomers(input) {
      if (deleteRangeOf.delete(input.runId)) {
        const admin = await connectKafkaAdmin(env.config.kafkaBrokers, 'retention', env.config.kafkaSecurity);
        await admin.fetchTopicMetadata({ topics: [env.config.kafkaTopic] }); // kafkajs needs it loaded first
        await admin.deleteTopicRecords({
          topic: env.config.kafkaTopic,
          partitions: input.ranges.map((range) => ({ partition: range.partition, offset: range.toOffset })),
        });
        await admin.disconnect();
      }
      return await activities.classifyCustomers(input);
    },
  };
}

test('a cancel during load stops it promptly; the run is recorded as cancelled', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'large.xlsx', reader: 'exceljs' }, 'cancel');
  const { runId } = await untilMidStep(env, handle, 'load', large.customers);
  const cancelledAt = Date.now();
  await handle.cancel();
  const error = await handle.result().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  const stoppedAfter = Date.now() - cancelledAt;
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
  // The workflow waits for the load to stop before it ends: the load noticed within a heartbeat or two.
  expect(stoppedAfter).toBeLessThan(8_000);
  const { history } = await historyFacts(env.client, handle.workflowId);
  expect(history.events?.some((event) => event.activityTaskCanceledEventAttributes)).toBe(true);
  const staged = async () => Number((await env.db(TABLES.stagingInvoices).where({ run_id: runId }).count({ n: '*' }))[0].n);
  const stagedNow = await staged();
  await sleep(1_500);
  expect(await staged()).toBe(stagedNow);
  expect(await env.db(TABLES.runs).where({ run_id: runId }).first('status', 'error')).toEqual({ status: 'cancelled', error: null });
  expect((await handle.query(progressQuery)).status).toBe('cancelled');
});

test('Kafka deleting the published range before it is consumed: a clear failure; retry publishes again and completes exactly', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'range-gone');
  const runId = (await untilProgress(handle)).runId;
  deleteRangeOf.add(runId);
  let waiting: SegmentationProgress;
  while ((waiting = await handle.query(progressQuery)).status !== 'awaiting-operator') await sleep(100);
  expect(waiting.failure).toMatchObject({ step: 'classify', type: 'PublishedRangeGoneError', retryFrom: 'publish' });
  expect(waiting.failure!.message).toMatch(/Kafka deleted offsets .* \(retention or deleteRecords\) before this run consumed them .*; `segment retry` publishes the run's counts again/);
  // Tried once: no retry of the consume can bring the messages back.
  expect((await historyFacts(env.client, handle.workflowId)).attempts.classifyCustomers).toBe(1);

  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry' }] });
  const result: SegmentationProgress = await handle.result();
  expect(result.summary).toMatchObject({ customers: small.customers, low: small.low, high: small.high, customersConsumed: small.customers, rowsWritten: small.customers });
  expect(result.steps.publish.runs).toBe(2);
  expect(result.steps.classify.runs).toBe(2);
  expect(result.steps.load.runs).toBe(1);
  expect(await segments(env.db)).toHaveLength(small.customers);
});

test('a failed run keeps its staging: reset to just after its load, it completes', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx', operatorWait: 0 }, 'reset-failed');
  const { runId } = await untilProgress(handle);
  deleteRangeOf.add(runId);
  await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
  expect(await env.db(TABLES.runs).where({ run_id: runId }).first('status')).toEqual({ status: 'failed' });
  expect(Number((await env.db(TABLES.stagingInvoices).where({ run_id: runId }).count({ n: '*' }))[0].n)).toBeGreaterThan(0);

  // What "Reset" in the UI does when one picks the workflow task right after the load.
  const { history } = await historyFacts(env.client, handle.workflowId);
  const events = history.events ?? [];
  const loaded = events.findIndex((event) => event.activityTaskCompletedEventAttributes && isActivity(events, event, 'loadWorkbookPart'));
  const resetPoint = events.slice(loaded).find((event) => event.workflowTaskCompletedEventAttributes)!;
  const { runId: newExecution } = await env.client.workflowService.resetWorkflowExecution({
    namespace: env.config.temporalNamespace,
    workflowExecution: { workflowId: handle.workflowId },
    reason: 'test: retry from aggregate',
    workflowTaskFinishEventId: resetPoint.eventId,
    requestId: `reset-${handle.workflowId}`,
  });
  const result: SegmentationProgress = await env.client.workflow.getHandle(handle.workflowId, newExecution ?? undefined).result();
  expect(result.runId).toBe(runId);
  expect(result.status).toBe('completed');
  expect(result.summary).toMatchObject({ customers: small.customers, low: small.low, high: small.high, rowsWritten: small.customers });
  expect(await env.db(TABLES.runs).where({ run_id: runId }).first('status')).toEqual({ status: 'completed' });
});

/** The run's progress as soon as a worker has started it (its key is known from then on). */
async function untilProgress(handle: WorkflowHandle): Promise<SegmentationProgress> {
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress) return progress;
    await sleep(50);
  }
}

function isActivity(events: NonNullable<Awaited<ReturnType<typeof historyFacts>>['history']['events']>, completed: (typeof events)[number], type: string): boolean {
  const scheduledId = String(completed.activityTaskCompletedEventAttributes?.scheduledEventId);
  return events.some((event) => String(event.eventId) === scheduledId && event.activityTaskScheduledEventAttributes?.activityType?.name === type);
}
