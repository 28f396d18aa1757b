/**
 * The classify step's per-partition commit chain (activities/classify-customers.ts): each slice's
 * MySQL commit runs after eachBatch has queued it, one in flight per partition. Through the real
 * Kafka and MySQL, the activity run alone (MockActivityEnvironment):
 * - an attempt that ends (here: cancelled) while a commit hangs stops heartbeating as it waits
 *   for it, so Temporal's heartbeat timeout hands the step on instead of waiting for startToClose;
 * - a commit that hangs a heartbeat timeout ends the attempt by itself, without waiting for it
 *   longer than that again (the worker's activity slot is not held by a hung connection);
 * - a throw after a slice's commit fails the attempt; it never leaves the next slice dropped
 *   while the partition's position moves past it;
 * - commits slower than Kafka's session timeout, batch after batch, keep the consumer in its
 *   group (no rebalance, which would re-read the partition from its earliest offset);
 * - a cancel that comes before the consumer starts (while the attempt claims its fence) ends the
 *   attempt cancelled, having committed nothing, rather than after the 120 s stall timeout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Kafka, Producer } from 'kafkajs';
import { createClassifyCustomers, type ClassifyResult } from '../../activities/classify-customers';
import { encodePurchaseCount, RUN_ID_HEADER, type PurchaseCountMessage } from '../../activities/purchase-count-message';
import type { ActivityTestHooks } from '../../activities/step-attempt-fence';
import { kafkaClient } from '../../lib/kafka';
import type { PipelineMetrics } from '../../lib/metrics/pipeline-metrics';
import type { PartitionRange } from '../../lib/partition-range';
import { TABLES } from '../../lib/tables';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { topicProducer } from '../support/topic-producer';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'classify-commit-chain-'));
const THRESHOLD = 5;
let env: TestEnvironment;
let producer: Producer;

beforeAll(async () => {
  env = await createTestEnvironment('classify_chain', { dataDir });
  producer = await topicProducer(env, 'classify-commit-chain-test');
});

afterAll(async () => {
  await producer?.disconnect();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const customer = (customerId: number): PurchaseCountMessage => ({
  customerId,
  purchaseCount: 1 + (customerId % 9),
  recencyDays: customerId % 300,
  monetary: `${customerId}.00`,
  recencyScore: 1,
  frequencyScore: 1,
  monetaryScore: 1,
  segment: 'Potential Loyalists',
});

/** `count` customers of the run on partition 0, in one record batch (so one kafkajs batch of several slices). */
async function publish(runId: string, count: number): Promise<PartitionRange[]> {
  const [sent] = await producer.send({
    topic: env.config.kafkaTopic,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({ partition: 0, ...encodePurchaseCount(customer(30_000 + i)), headers: { [RUN_ID_HEADER]: runId } })),
  });
  const first = BigInt(sent.baseOffset!);
  return [{ partition: 0, fromOffset: first.toString(), toOffset: (first + BigInt(count)).toString(), topic: env.config.kafkaTopic }];
}

function classifyIn(activity: MockActivityEnvironment, runId: string, ranges: PartitionRange[], options: { testHooks?: ActivityTestHooks; metrics?: PipelineMetrics; kafka?: Kafka } = {}): Promise<ClassifyResult> {
  const classify = createClassifyCustomers({
    db: env.db,
    kafka: options.kafka ?? kafkaClient(env.config.kafkaBrokers, 'classify-commit-chain-worker', env.config.kafkaSecurity),
    topic: env.config.kafkaTopic,
    topicPartitions: env.config.kafkaTopicPartitions,
    dataDir,
    retention: env.config.retention,
    historyWriter: { mode: 'insert', warn: () => undefined },
    metrics: options.metrics,
    testHooks: options.testHooks,
  });
  return activity.run(classify, { runId, threshold: THRESHOLD, batchSize: 4, ranges });
}

/** What MySQL holds for the run: the stored position (past the range's start) and the history's customers. */
async function committed(runId: string, ranges: PartitionRange[]) {
  const [position] = await env.db(TABLES.consumerOffsets).where({ run_id: runId }).select('next_offset', 'messages_consumed');
  const rows = await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').pluck('CustomerID');
  return { offsets: position ? Number(BigInt(position.next_offset) - BigInt(ranges[0].fromOffset)) : 0, consumed: Number(position?.messages_consumed ?? 0), rows };
}
const firstCustomers = (n: number) => Array.from({ length: n }, (_, i) => 30_000 + i);

test('cancelled while a commit hangs: the attempt stops heartbeating as it waits for the commit, then ends cancelled with rows and position together', async () => {
  const runId = 'cancel-hung-commit';
  const ranges = await publish(runId, 20);
  let writes = 0;
  let reached!: () => void;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const testHooks: ActivityTestHooks = {
    async beforeFencedWrite() {
      if (++writes !== 2) return;
      reached();
      await released; // MySQL stops answering mid-commit, as a frozen server or a dropped connection does
    },
  };
  const activity = new MockActivityEnvironment({ activityId: 'classify-cancel', attempt: 1, scheduledTimestampMs: Date.now() });
  const outcome = classifyIn(activity, runId, ranges, { testHooks }).then(
    () => 'completed',
    (error: Error) => `${error.name}`,
  );
  await held;
  let heartbeats = 0;
  activity.on('heartbeat', () => heartbeats++);
  activity.cancel();
  try {
    // The watchdog beats every 5 s: a waiting attempt that still beat would be seen as alive, for the 2 h of startToClose.
    await sleep(7_000);
    expect(heartbeats).toBe(0);
  } finally {
    release();
  }
  expect(await outcome).toBe('CancelledFailure');
  const { offsets, consumed, rows } = await committed(runId, ranges);
  expect(consumed).toBe(offsets);
  expect(rows).toEqual(firstCustomers(offsets));
});

test('a commit that hangs, nothing else wrong: the attempt stops heartbeating and ends after a heartbeat timeout, without waiting for the commit; the retry writes every row once', async () => {
  const runId = 'wedged-commit';
  const ranges = await publish(runId, 20);
  let writes = 0;
  let reached!: () => void;
  let thaw!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  const thawed = new Promise<void>((resolve) => (thaw = resolve));
  const testHooks: ActivityTestHooks = {
    async beforeFencedWrite() {
      if (++writes !== 2) return;
      reached();
      await thawed; // MySQL stops answering mid-commit
    },
  };
  const scheduledTimestampMs = Date.now();
  const heartbeatTimeoutMs = 2_000;
  const activity = new MockActivityEnvironment({ activityId: 'classify-wedged', attempt: 1, scheduledTimestampMs, heartbeatTimeoutMs });
  const beats: number[] = [];
  activity.on('heartbeat', () => beats.push(Date.now()));
  const outcome = classifyIn(activity, runId, ranges, { testHooks }).then(
    () => 'completed',
    (error: Error) => error.message,
  );
  await held;
  const wedgedAt = Date.now();
  try {
    // Ends while the commit still hangs (it is only thawed below): it never waits for it to come back.
    expect(await outcome).toMatch(/the MySQL commit of partition 0's batch has run \d+s without an answer/);
    // No beat once the commit has hung a heartbeat timeout (the watchdog looks every 5 s).
    expect(beats.filter((at) => at > wedgedAt + heartbeatTimeoutMs + 5_000)).toEqual([]);
  } finally {
    thaw();
  }
  const retry = new MockActivityEnvironment({ activityId: 'classify-wedged', attempt: 2, scheduledTimestampMs, heartbeatTimeoutMs });
  expect((await classifyIn(retry, runId, ranges)).messagesConsumed).toBe(20);
  expect(await committed(runId, ranges)).toEqual({ offsets: 20, consumed: 20, rows: firstCustomers(20) });
});

test("a throw after a slice's commit fails the attempt: no later slice commits past the one it was queuing, and the retry writes every row once", async () => {
  const runId = 'throw-after-commit';
  const ranges = await publish(runId, 20);
  let calls = 0;
  // Anything the bookkeeping after a commit may throw (here the consumed counter, once).
  const metrics = {
    messagesConsumed: () => {
      if (++calls === 1) throw new Error('the consumed counter threw');
    },
    consumerLag: () => undefined,
  } as unknown as PipelineMetrics;
  const scheduledTimestampMs = Date.now();
  const first = new MockActivityEnvironment({ activityId: 'classify-throw', attempt: 1, scheduledTimestampMs });
  await expect(classifyIn(first, runId, ranges, { metrics })).rejects.toThrow('the consumed counter threw');
  const partial = await committed(runId, ranges);
  expect(partial.consumed).toBe(partial.offsets);
  expect(partial.rows).toEqual(firstCustomers(partial.offsets));

  const retry = new MockActivityEnvironment({ activityId: 'classify-throw', attempt: 2, scheduledTimestampMs });
  expect((await classifyIn(retry, runId, ranges)).messagesConsumed).toBe(20);
  const done = await committed(runId, ranges);
  expect(done).toEqual({ offsets: 20, consumed: 20, rows: firstCustomers(20) });
});

test("commits slower than Kafka's session timeout, one batch of several slices: the consumer stays in its group", async () => {
  const runId = 'slow-commits';
  const ranges = await publish(runId, 24);
  // Six slices of four in one kafkajs batch, 8 s a commit: 40 s in eachBatch, past the 30 s session timeout.
  const testHooks: ActivityTestHooks = { beforeFencedWrite: () => sleep(8_000) };
  const kafka = kafkaClient(env.config.kafkaBrokers, 'classify-commit-chain-worker', env.config.kafkaSecurity);
  let joins = 0;
  const consumer = kafka.consumer.bind(kafka);
  kafka.consumer = (config) => {
    const made = consumer(config);
    made.on(made.events.GROUP_JOIN, () => joins++);
    return made;
  };
  const activity = new MockActivityEnvironment({ activityId: 'classify-slow', attempt: 1, scheduledTimestampMs: Date.now() });
  expect((await classifyIn(activity, runId, ranges, { testHooks, kafka })).messagesConsumed).toBe(24);
  expect(joins).toBe(1);
  expect(await committed(runId, ranges)).toEqual({ offsets: 24, consumed: 24, rows: firstCustomers(24) });
});

test('cancelled before the consumer starts: the attempt ends cancelled at once and commits nothing', async () => {
  const runId = 'cancel-before-consume';
  const ranges = await publish(runId, 8);
  const activity = new MockActivityEnvironment({ activityId: 'classify-early-cancel', attempt: 1, scheduledTimestampMs: Date.now() });
  // Cancelled while the fence is claimed, before the attempt listens for a cancel.
  const testHooks: ActivityTestHooks = { beforeEarlierStepsLocked: async () => activity.cancel() };
  const started = Date.now();
  const outcome = await classifyIn(activity, runId, ranges, { testHooks }).then(
    () => 'completed',
    (error: Error) => error.name,
  );
  expect(outcome).toBe('CancelledFailure');
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(await committed(runId, ranges)).toEqual({ offsets: 0, consumed: 0, rows: [] });
});

test('a consumer whose disconnect never answers (a broker gone): the attempt still ends, with its result, a heartbeat timeout later', async () => {
  const runId = 'hung-disconnect';
  const ranges = await publish(runId, 8);
  const activity = new MockActivityEnvironment({ activityId: 'classify-hung-disconnect', attempt: 1, scheduledTimestampMs: Date.now(), heartbeatTimeoutMs: 5_000 });
  const testHooks: ActivityTestHooks = { beforeConsumerDisconnect: () => new Promise<void>(() => undefined) };
  const started = Date.now();
  // Bounded here only so that a regression fails with a message rather than at jest's timeout.
  const outcome = await Promise.race([
    classifyIn(activity, runId, ranges, { testHooks }).then((result) => result.messagesConsumed),
    sleep(60_000).then(() => 'still waiting for the disconnect after 60 s'),
  ]);
  expect(outcome).toBe(8);
  expect(Date.now() - started).toBeGreaterThanOrEqual(5_000); // it did wait the heartbeat timeout for the disconnect
  expect(await committed(runId, ranges)).toEqual({ offsets: 8, consumed: 8, rows: firstCustomers(8) });
});
