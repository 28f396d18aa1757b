/**
 * Messages the run published go away under its consumer: records deleted (deleteRecords, as
 * retention does) or the topic deleted and created again under the same name. The consumer must
 * notice within seconds, not skip the lost offsets nor wait for offsets that will never come, and
 * the run must wait for an operator whose `retry` publishes again and completes the run exactly.
 *
 * Classify is held mid-way without touching its code: the test locks the row in which classify
 * commits one partition's position (SELECT ... FOR UPDATE), so that partition's next commit waits
 * with the consumer live; the loss lands; the lock is released.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import type { Knex } from 'knex';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { PartitionRange } from '../../lib/partition-range';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { segment } from '../support/segment-cli';
import { segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

/** A loss must show within seconds: today's consumer takes minutes (a stall timeout, then retries) or never. */
const DETECTION_BOUND_MS = 20_000;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-loss-'));
let env: TestEnvironment;
let expected: GeneratedWorkbook;
/**
 * Run once, just before the next classify activity of a workflow whose id starts with `prefix`
 * (then cleared): an earlier test's run, still retrying its classify, must not take it.
 */
let beforeClassify: { prefix: string; run: () => Promise<void> } | undefined;

beforeAll(async () => {
  env = await createTestEnvironment('kafkaloss', { dataDir });
  await env.startWorker((activities) => ({
    ...activities,
    classifyCustomers: async (input) => {
      const hook = beforeClassify;
      if (hook && (Context.current().info.workflowExecution?.workflowId ?? '').startsWith(`${hook.prefix}-`)) {
        beforeClassify = undefined;
        await hook.run();
      }
      return await activities.classifyCustomers(input);
    },
  }));
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'source.xlsx'), rows: 12_000, customers: 4_400, seed: 47 });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** One commit per message and one consumer for all partitions: classify takes long enough to be caught mid-way. */
const slowClassify = { file: 'source.xlsx', classifyActivities: 1, classifyBatchSize: 1 };

interface Held {
  progress: SegmentationProgress;
  range: PartitionRange;
  /** The partition's committed next offset, which its consumer cannot move on while held. */
  nextOffset: bigint;
  /** Lands the fault, then lets classify go on (whether the fault landed or not). */
  whileHeld(fault: () => Promise<unknown>): Promise<void>;
}

/** Unread offsets of the held partition: more than the consumer fetches at once (about 1 KiB at batch size 1). */
const MIN_UNREAD_WHEN_HELD = 60n;

/** Waits until classify has committed part of a partition, then holds that partition's next commit. */
async function holdClassifyMidPartition(handle: WorkflowHandle): Promise<Held> {
  let progress: SegmentationProgress | undefined;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(5)) {
    if (progress?.currentStep !== 'classify' || !progress.publishedOffsets) {
      progress = await handle.query(progressQuery).catch(() => undefined);
      continue;
    }
    const rows: Array<{ partition: number; next_offset: string }> = await env.db(TABLES.consumerOffsets).where({ run_id: progress.runId }).select('partition', 'next_offset');
    for (const row of rows) {
      const range = progress.publishedOffsets.find((r) => r.partition === row.partition)!;
      if (BigInt(range.toOffset) - BigInt(row.next_offset) < MIN_UNREAD_WHEN_HELD) continue;
      const trx: Knex.Transaction = await env.db.transaction();
      const locked = await trx(TABLES.consumerOffsets).where({ run_id: progress.runId, partition: row.partition }).forUpdate().first('next_offset');
      const nextOffset = BigInt(locked.next_offset);
      if (BigInt(range.toOffset) - nextOffset < MIN_UNREAD_WHEN_HELD) {
        await trx.rollback();
        continue;
      }
      const whileHeld = async (fault: () => Promise<unknown>) => {
        try {
          await fault();
        } finally {
          await trx.commit();
        }
      };
      return { progress, range, nextOffset, whileHeld };
    }
  }
  throw new Error(`classify was never seen mid-way through a partition (${progress?.status}, step ${progress?.currentStep})`);
}

async function untilAwaitingOperator(handle: WorkflowHandle, boundMs: number): Promise<SegmentationProgress> {
  for (const deadline = Date.now() + boundMs; Date.now() < deadline; await sleep(50)) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.status === 'awaiting-operator' || progress?.status === 'failed' || progress?.status === 'completed') return progress;
  }
  throw new Error(`the run was not awaiting an operator within ${boundMs / 1000}s of the loss`);
}

/** An admin client of its own: one made before the topic existed would not know its partitions. */
async function kafkaAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await connectKafkaAdmin(env.config.kafkaBrokers, 'kafka-loss-test', env.config.kafkaSecurity);
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

function recreateTopic(): Promise<void> {
  const topic = env.config.kafkaTopic;
  return kafkaAdmin(async (admin) => {
    await admin.deleteTopics({ topics: [topic] });
    // The broker forgets a deleted topic asynchronously: create again until it takes.
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      try {
        if (await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: env.config.kafkaTopicPartitions, replicationFactor: 1 }] })) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  });
}

/** The operator's retry: publish and classify run again, and the run completes with every customer. */
async function retryCompletesExactly(handle: WorkflowHandle): Promise<void> {
  const { lastJson } = await segment(['retry', handle.workflowId, '--reason', 'messages lost in Kafka', '--wait', '--json'], env.env);
  expect(lastJson).toMatchObject({ status: 'completed', customers: expected.customers, low: expected.low, high: expected.high });
  expect(lastJson.customersConsumed).toBe(expected.customers);
  expect(lastJson.rowsWritten).toBe(expected.customers);
  const result: SegmentationProgress = await handle.result();
  expect(result.steps.publish.runs).toBe(2);
  expect(result.steps.classify.runs).toBe(2);
  expect(result.decisions).toEqual([expect.objectContaining({ action: 'retry', step: 'classify' })]);
  const published = await segments(env.db);
  expect(published).toHaveLength(expected.customers);
  expect(published.filter((row) => row.FrequencyCategory === 'Low Frequency')).toHaveLength(expected.low);
}

test('the publish step records the topic and its id with every range', async () => {
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx' }, 'identity');
  const result: SegmentationProgress = await handle.result();
  expect(result.status).toBe('completed');
  const ids = new Set(result.publishedOffsets!.map((range) => range.topicId));
  expect(result.publishedOffsets!.every((range) => range.topic === env.config.kafkaTopic)).toBe(true);
  expect(ids.size).toBe(1);
  expect([...ids][0]).toMatch(/^[A-Za-z0-9_-]{22}$/); // Kafka's own form of a topic id
});

test('records deleted while classify reads them: the run waits for an operator within seconds; `retry` publishes again and completes exactly', async () => {
  const handle = await startSegmentation(env.client, env.config, slowClassify, 'delete-records');
  const held = await holdClassifyMidPartition(handle);
  const { partition } = held.range;
  // Delete well past what the consumer has fetched, but not to the end: today's consumer skips
  // the deleted offsets and reads the last few, as if nothing had happened.
  const deleteBefore = BigInt(held.range.toOffset) - 10n;
  await held.whileHeld(() =>
    kafkaAdmin(async (admin) => {
      await admin.fetchTopicMetadata({ topics: [env.config.kafkaTopic] }); // deleteTopicRecords needs the leaders known
      await admin.deleteTopicRecords({ topic: env.config.kafkaTopic, partitions: [{ partition, offset: deleteBefore.toString() }] });
    }),
  );
  const lostAt = Date.now();

  const waiting = await untilAwaitingOperator(handle, DETECTION_BOUND_MS);
  const detectedInMs = Date.now() - lostAt;
  console.log(`deleteRecords on partition ${partition} to awaiting an operator: ${detectedInMs} ms`);
  expect(waiting.status).toBe('awaiting-operator');
  expect(waiting.failure).toMatchObject({ step: 'classify', type: 'PublishedRangeGoneError', retryFrom: 'publish' });
  expect(waiting.failure!.message).toContain(`partition ${partition} of topic "${env.config.kafkaTopic}"`);
  expect(waiting.failure!.message).toMatch(/offsets \d+ to \d+/);
  expect(waiting.failure!.message).toContain('`segment retry` publishes the run\'s counts again');

  await retryCompletesExactly(handle);
});

test('the topic deleted and created again while classify reads it: detected within seconds; `retry` publishes again and completes exactly', async () => {
  const handle = await startSegmentation(env.client, env.config, slowClassify, 'recreated-while');
  const held = await holdClassifyMidPartition(handle);
  await held.whileHeld(recreateTopic);
  const lostAt = Date.now();

  const waiting = await untilAwaitingOperator(handle, DETECTION_BOUND_MS);
  console.log(`topic re-created mid-classify to awaiting an operator: ${Date.now() - lostAt} ms`);
  expect(waiting.status).toBe('awaiting-operator');
  expect(waiting.failure).toMatchObject({ step: 'classify', type: 'PublishedRangeGoneError', retryFrom: 'publish' });
  expect(waiting.failure!.message).toContain(`topic "${env.config.kafkaTopic}"`);
  expect(waiting.failure!.message).toMatch(/partition \d+ offsets \d+ to \d+/);

  await retryCompletesExactly(handle);
});

test('the topic deleted and created again after publish, before classify starts: detected at once, same operator path', async () => {
  let lostAt = 0;
  beforeClassify = {
    prefix: 'recreated-before',
    run: async () => {
      await recreateTopic();
      lostAt = Date.now();
    },
  };
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', classifyActivities: 1 }, 'recreated-before');
  const waiting = await untilAwaitingOperator(handle, 60_000);
  console.log(`topic re-created before classify to awaiting an operator: ${Date.now() - lostAt} ms`);
  expect(Date.now() - lostAt).toBeLessThan(DETECTION_BOUND_MS);
  expect(waiting.status).toBe('awaiting-operator');
  expect(waiting.failure).toMatchObject({ step: 'classify', type: 'PublishedRangeGoneError', retryFrom: 'publish' });
  expect(waiting.failure!.message).toContain('was deleted and created again');

  await retryCompletesExactly(handle);
});
