/**
 * The classify step's two ways of writing its rows (activities/write-classified-customers.ts):
 * LOAD DATA LOCAL INFILE where the server allows it (the local stack's MariaDB does), INSERT where
 * it does not. Through the real Kafka and MySQL:
 * - both write exactly the values the messages carry: the largest counts and amounts, NULL and
 *   zero RecencyDays, segment names with tabs, newlines, backslashes, `\N` and 4-byte UTF-8; a
 *   customer sent again keeps the later message's values;
 * - an attempt that failed after committing some batches, retried, leaves one row per customer
 *   and the consumed count of one clean run;
 * - a worker told local infile is unavailable (MYSQL_LOCAL_INFILE=off) runs a whole workbook to
 *   the same rows as a worker that uses LOAD DATA.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Producer } from 'kafkajs';
import knex from 'knex';
import { commitBatch, createClassifyCustomers, type ClassifyResult } from '../../activities/classify-customers';
import { encodePurchaseCount, RUN_ID_HEADER, type PurchaseCountMessage } from '../../activities/purchase-count-message';
import type { ActivityTestHooks } from '../../activities/step-attempt-fence';
import { historyWriterFor, type HistoryWriter } from '../../activities/write-classified-customers';
import { mysqlConnectionOptions } from '../../lib/config';
import { kafkaClient } from '../../lib/kafka';
import { frequencyCategory } from '../../lib/segmentation/frequency-category';
import { TABLES } from '../../lib/tables';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import type { PartitionRange } from '../../lib/partition-range';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { rfmSegments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { topicProducer } from '../support/topic-producer';
import { createSegmentationWorker } from '../../workers/segmentation-worker';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'classify-load-data-'));
const THRESHOLD = 5;
let env: TestEnvironment;
let producer: Producer;

beforeAll(async () => {
  env = await createTestEnvironment('classify_load_data', { dataDir });
  producer = await topicProducer(env, 'classify-load-data-test');
});

afterAll(async () => {
  await producer?.disconnect();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const customer = (customerId: number, values: Partial<PurchaseCountMessage> = {}): PurchaseCountMessage => ({
  customerId,
  purchaseCount: 1 + (customerId % 9),
  recencyDays: customerId % 300,
  monetary: `${customerId}.${String(customerId % 100).padStart(2, '0')}`,
  recencyScore: 1 + (customerId % 5),
  frequencyScore: 1 + ((customerId * 3) % 5),
  monetaryScore: 1 + ((customerId * 7) % 5),
  segment: 'Potential Loyalists',
  ...values,
});

/** Values at the edges of the columns and of LOAD DATA's text format, and one customer sent twice. */
const MESSAGES: PurchaseCountMessage[] = [
  customer(12346, { recencyDays: null }),
  customer(12347, { segment: 'tab\there, newline\nthere, CR\rand \\ backslash' }),
  customer(12348, { segment: '\\N', recencyDays: 0 }),
  customer(12349, { segment: 'Çok Değerli 🚀 客户', monetary: '-9999999999999999999999999999.99' }),
  customer(12350, { segment: '', monetary: '0.00', recencyDays: 2_147_483_647 }),
  customer(4_294_967_295, { purchaseCount: 4_294_967_295, monetary: '9999999999999999999999999999.99' }),
  customer(12351, { segment: 'NULL' }),
  // Sent again in a later batch (a re-sent chunk): its later values are the ones kept.
  customer(12347, { purchaseCount: 42, segment: 'Champions', recencyDays: null, monetary: '1.05' }),
  ...Array.from({ length: 12 }, (_, i) => customer(20_000 + i)),
];

/** What the history must hold for MESSAGES: one row per customer, the last message's values. */
function expectedRows(messages: PurchaseCountMessage[]) {
  const last = new Map(messages.map((message) => [message.customerId, message]));
  return [...last.values()]
    .sort((a, b) => a.customerId - b.customerId)
    .map((m) => ({
      CustomerID: m.customerId,
      PurchaseCount: m.purchaseCount,
      FrequencyCategory: frequencyCategory(m.purchaseCount, THRESHOLD),
      RecencyDays: m.recencyDays,
      Monetary: m.monetary,
      RecencyScore: m.recencyScore,
      FrequencyScore: m.frequencyScore,
      MonetaryScore: m.monetaryScore,
      RfmSegment: m.segment,
    }));
}

async function historyOf(runId: string) {
  return await env.db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .orderBy('CustomerID')
    .select('CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment', 'RecordedAt');
}

/** The run's messages on partition 0 (another run's first, which classify skips); the range classify reads. */
async function publish(runId: string, messages: PurchaseCountMessage[]): Promise<PartitionRange[]> {
  const record = (message: PurchaseCountMessage, run: string) => ({ partition: 0, ...encodePurchaseCount(message), headers: { [RUN_ID_HEADER]: run } });
  const [sent] = await producer.send({
    topic: env.config.kafkaTopic,
    acks: -1,
    messages: [record(customer(99_999), `${runId}-other`), ...messages.map((message) => record(message, runId))],
  });
  const first = BigInt(sent.baseOffset!);
  return [{ partition: 0, fromOffset: first.toString(), toOffset: (first + BigInt(messages.length + 1)).toString(), topic: env.config.kafkaTopic }];
}

/** A writer that fails the test if it ever falls back: the path asked for is the path taken. */
const writerOf = (mode: HistoryWriter['mode']): HistoryWriter => ({
  mode,
  warn: (line) => {
    throw new Error(`unexpected fallback: ${line}`);
  },
});

async function classifyAttempt(
  runId: string,
  ranges: PartitionRange[],
  writer: HistoryWriter,
  attempt: { activityId: string; attempt: number; scheduledTimestampMs: number; testHooks?: ActivityTestHooks },
): Promise<ClassifyResult> {
  const classify = createClassifyCustomers({
    db: env.db,
    kafka: kafkaClient(env.config.kafkaBrokers, 'classify-load-data-worker', env.config.kafkaSecurity),
    topic: env.config.kafkaTopic,
    topicPartitions: env.config.kafkaTopicPartitions,
    dataDir,
    retention: env.config.retention,
    historyWriter: writer,
    testHooks: attempt.testHooks,
  });
  const activity = new MockActivityEnvironment({ activityId: attempt.activityId, attempt: attempt.attempt, scheduledTimestampMs: attempt.scheduledTimestampMs });
  return await activity.run(classify, { runId, threshold: THRESHOLD, batchSize: 4, ranges });
}

test('the server allows LOAD DATA LOCAL here; MYSQL_LOCAL_INFILE=off chooses INSERT, saying so in one line', async () => {
  const lines: string[] = [];
  expect((await historyWriterFor(env.db, 'auto', (line) => lines.push(line))).mode).toBe('load-data');
  expect(lines).toEqual([]);
  expect((await historyWriterFor(env.db, 'off', (line) => lines.push(line))).mode).toBe('insert');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/INSERT: MYSQL_LOCAL_INFILE is off .*--local-infile=1/);
});

test.each(['load-data', 'insert'] as const)('%s writes exactly the values the messages carry; a customer sent again keeps the later values', async (mode) => {
  const runId = `values-${mode}`;
  const ranges = await publish(runId, MESSAGES);
  const before = Date.now();
  const result = await classifyAttempt(runId, ranges, writerOf(mode), { activityId: `classify-${mode}`, attempt: 1, scheduledTimestampMs: Date.now() });
  const after = Date.now();

  expect(result.messagesConsumed).toBe(MESSAGES.length);
  const rows = await historyOf(runId);
  expect(rows.map(({ RecordedAt: _, ...row }) => row)).toEqual(expectedRows(MESSAGES));
  // DATETIME(3) in UTC: the time of its batch's commit, to the millisecond.
  for (const { RecordedAt } of rows) {
    expect(RecordedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(RecordedAt.getTime()).toBeLessThanOrEqual(after);
  }
});

test('a refusal of LOAD DATA LOCAL at a commit: the same batch goes in with INSERT in its transaction, and the worker keeps INSERT from then on', async () => {
  // A client that does not offer LOCAL_FILES: the server itself refuses the statement, as one with local_infile off does.
  const refused = knex({
    client: 'mysql2',
    connection: { ...mysqlConnectionOptions(env.config.mysql), charset: 'utf8mb4', timezone: 'Z', supportBigNumbers: true, flags: ['-LOCAL_FILES'] },
    pool: { min: 0, max: 2 },
  });
  const runId = 'refused-mid-run';
  const lines: string[] = [];
  const writer: HistoryWriter = { mode: 'load-data', warn: (line) => lines.push(line) };
  const rows = (customers: PurchaseCountMessage[]) => new Map(customers.map((m) => [m.customerId, m]));
  try {
    const batch = (messages: PurchaseCountMessage[], nextOffset: bigint) =>
      commitBatch(refused, { runId, topic: env.config.kafkaTopic, partition: 0, nextOffset, rows: rows(messages), runMessages: messages.length, threshold: THRESHOLD }, writer);
    await batch(MESSAGES.slice(0, 7), 7n);
    expect(writer.mode).toBe('insert');
    expect(lines).toEqual([expect.stringMatching(/INSERT from now on: the MySQL server refused LOAD DATA LOCAL INFILE .*--local-infile=1/)]);
    await batch(MESSAGES.slice(7), BigInt(MESSAGES.length));
    expect(lines).toHaveLength(1);
  } finally {
    await refused.destroy();
  }
  expect((await historyOf(runId)).map(({ RecordedAt: _, ...row }) => row)).toEqual(expectedRows(MESSAGES));
  expect(await env.db(TABLES.consumerOffsets).where({ run_id: runId }).select('next_offset', 'messages_consumed')).toEqual([
    { next_offset: MESSAGES.length, messages_consumed: MESSAGES.length },
  ]);
});

test("LOAD DATA: an attempt that failed after committing some batches, retried, leaves one row per customer and one run's count", async () => {
  const runId = 'partial-commit';
  const ranges = await publish(runId, MESSAGES);
  const first = BigInt(ranges[0].fromOffset);
  const scheduledTimestampMs = Date.now();
  // MySQL lost after two commits: every later write of the attempt fails (kafkajs's own retries too), so the attempt fails.
  let writes = 0;
  const loseMysqlAfterTwoCommits: ActivityTestHooks = {
    async beforeFencedWrite() {
      if (++writes > 2) throw new Error('the worker lost MySQL after two batches');
    },
  };
  await expect(
    classifyAttempt(runId, ranges, writerOf('load-data'), { activityId: 'classify-partial', attempt: 1, scheduledTimestampMs, testHooks: loseMysqlAfterTwoCommits }),
  ).rejects.toThrow('the worker lost MySQL after two batches');
  // Committed: the messages before the stored position (after the other run's), their rows and nothing more.
  const [position] = await env.db(TABLES.consumerOffsets).where({ run_id: runId }).select('next_offset', 'messages_consumed');
  const committed = Number(BigInt(position.next_offset) - first - 1n);
  expect(committed).toBeGreaterThan(0);
  expect(committed).toBeLessThan(MESSAGES.length);
  expect(Number(position.messages_consumed)).toBe(committed);
  expect((await historyOf(runId)).map(({ RecordedAt: _, ...row }) => row)).toEqual(expectedRows(MESSAGES.slice(0, committed)));

  const result = await classifyAttempt(runId, ranges, writerOf('load-data'), { activityId: 'classify-partial', attempt: 2, scheduledTimestampMs });
  expect(result.messagesConsumed).toBe(MESSAGES.length);
  expect((await historyOf(runId)).map(({ RecordedAt: _, ...row }) => row)).toEqual(expectedRows(MESSAGES));
  const [done] = await env.db(TABLES.consumerOffsets).where({ run_id: runId }).select('next_offset', 'messages_consumed');
  expect(BigInt(done.next_offset)).toBe(BigInt(ranges[0].toOffset));
  expect(Number(done.messages_consumed)).toBe(MESSAGES.length);
});

test('a worker told local infile is unavailable (MYSQL_LOCAL_INFILE=off) writes the same rows as one that uses LOAD DATA', async () => {
  await generateWorkbook({ outPath: path.join(dataDir, 'retail.xlsx'), rows: 3_000, seed: 18 });
  const runOn = async (worker: Awaited<ReturnType<typeof createSegmentationWorker>>): Promise<SegmentationProgress> => {
    const running = worker.run();
    try {
      const handle = await startSegmentation(env.client, env.config, { file: 'retail.xlsx', audit: false, classifyBatchSize: 5 }, 'classify-load-data');
      const result: SegmentationProgress = await handle.result();
      expect(result.status).toBe('completed');
      return result;
    } finally {
      worker.worker.shutdown();
      await running;
    }
  };
  const withInsert = await runOn(await createSegmentationWorker({ ...env.config, mysqlLocalInfile: 'off' }));
  const withLoadData = await runOn(await createSegmentationWorker(env.config));

  const inserted = await rfmSegments(env.db, withInsert.runId);
  expect(inserted.length).toBeGreaterThan(10);
  expect(inserted.length).toBe(withInsert.summary?.rowsWritten);
  expect(await rfmSegments(env.db, withLoadData.runId)).toEqual(inserted);
  // And what the later run published is its own history, whole.
  expect(await rfmSegments(env.db)).toEqual(inserted);
});
