/**
 * The publish step's faster path (rows encoded straight to bytes, its own partitioner, LZ4 batches,
 * chunks in flight on producers of their own if asked) on the real Kafka and MySQL, the activities
 * run in a mocked activity context:
 * - what lands in the topic is, message for message, the versioned message of each staged row
 *   (the same bytes as encodePurchaseCount), with the run in its header, on the partition kafkajs
 *   would pick, each customer once, whatever the codec;
 * - an attempt stopped mid-publication (cancelled, as a worker's crash leaves it), with one chunk
 *   in flight (the default) or several, has a checkpoint
 *   behind which every customer is already in the topic, whatever was still in flight; the retry
 *   resumes from it, and the classify step then writes one row per customer with the staged values.
 */
import os from 'node:os';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/activity-dependencies';
import { createClassifyCustomers } from '../../activities/classify-customers';
import { CHUNKS_IN_FLIGHT, createPublishPurchaseCounts, type PublishCheckpoint, type PublishResult } from '../../activities/publish-purchase-counts';
import { encodePurchaseCount, messageOfRow, RUN_ID_HEADER, type CustomerRow } from '../../activities/purchase-count-message';
import type { KafkaCompression } from '../../lib/config';
import { kafkaClient } from '../../lib/kafka';
import { partitionOfKey } from '../../lib/kafka-partitioner';
import type { PartitionRange } from '../../lib/partition-range';
import { TABLES } from '../../lib/tables';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const CUSTOMERS = 3_000;
const CHUNK = 100;
let env: TestEnvironment;
let runs = 0;

beforeAll(async () => {
  env = await createTestEnvironment('publish_step', { dataDir: os.tmpdir() });
});

afterAll(async () => {
  await env?.cleanup();
});

const SEGMENTS = ['Champions', 'At Risk', 'Need "Attention"', 'Clientes leales ✓'];

function stagedRows(): CustomerRow[] {
  return Array.from({ length: CUSTOMERS }, (_, i) => ({
    CustomerID: 12_346 + i * 3,
    PurchaseCount: 1 + (i % 17),
    RecencyDays: i % 7 === 0 ? null : (i * 13) % 400,
    Monetary: `${(i * 7919) % 100_000}.${String(i % 100).padStart(2, '0')}`,
    RecencyScore: 1 + (i % 5),
    FrequencyScore: 1 + ((i >> 1) % 5),
    MonetaryScore: 1 + ((i >> 2) % 5),
    RfmSegment: SEGMENTS[i % SEGMENTS.length],
  }));
}

async function stage(runId: string, rows: CustomerRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += 1_000) {
    await env.db(TABLES.stagingCounts).insert(rows.slice(start, start + 1_000).map((row) => ({ run_id: runId, ...row })));
  }
}

function dependencies(compression: KafkaCompression, publishChunksInFlight?: number): ActivityDependencies {
  return {
    db: env.db,
    kafka: kafkaClient(env.config.kafkaBrokers, 'publish-step-test', env.config.kafkaSecurity),
    topic: env.config.kafkaTopic,
    topicPartitions: env.config.kafkaTopicPartitions,
    dataDir: os.tmpdir(),
    retention: env.config.retention,
    publishCompression: compression,
    publishChunksInFlight,
  };
}

interface Received {
  partition: number;
  key: string;
  value: Buffer;
  runId: string | undefined;
}

/** Every message in the ranges, read with the project's kafkajs client (LZ4 batches included). */
async function readRanges(ranges: PartitionRange[]): Promise<Received[]> {
  const consumer = kafkaClient(env.config.kafkaBrokers, 'publish-step-test-reader', env.config.kafkaSecurity).consumer({ groupId: `publish-step-test-${++runs}` });
  const wanted = ranges.filter((range) => BigInt(range.toOffset) > BigInt(range.fromOffset));
  const total = wanted.reduce((sum, range) => sum + Number(BigInt(range.toOffset) - BigInt(range.fromOffset)), 0);
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: env.config.kafkaTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      if (total === 0) return resolve();
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const range = wanted.find((candidate) => candidate.partition === batch.partition);
            if (!range) return;
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset < BigInt(range.fromOffset) || offset >= BigInt(range.toOffset)) continue;
              received.push({ partition: batch.partition, key: message.key!.toString(), value: message.value!, runId: message.headers?.[RUN_ID_HEADER]?.toString() });
            }
            if (received.length >= total) resolve();
          },
        })
        .catch(reject);
      for (const range of wanted) consumer.seek({ topic: env.config.kafkaTopic, partition: range.partition, offset: range.fromOffset });
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

test.each<KafkaCompression>(['none', 'lz4', 'gzip'])('with %s, each customer lands once, as the very bytes of its versioned message, on its partition', async (compression) => {
  const runId = `publish-bytes-${compression}-${++runs}`;
  const rows = stagedRows();
  await stage(runId, rows);
  const activity = new MockActivityEnvironment({ activityId: `publish-${runId}`, attempt: 1, scheduledTimestampMs: Date.now() });
  const result: PublishResult = await activity.run(createPublishPurchaseCounts(dependencies(compression)), { runId, chunkSize: CHUNK });
  expect(result).toMatchObject({ messagesPublished: CUSTOMERS, chunks: CUSTOMERS / CHUNK });

  const received = await readRanges(result.ranges);
  expect(received).toHaveLength(CUSTOMERS);
  const byKey = new Map(received.map((message) => [message.key, message]));
  expect(byKey.size).toBe(CUSTOMERS);
  for (const row of rows) {
    const expected = encodePurchaseCount(messageOfRow(row));
    const message = byKey.get(expected.key)!;
    expect({ key: message.key, value: message.value.toString('utf8'), runId: message.runId, partition: message.partition }).toEqual({
      key: expected.key,
      value: expected.value,
      runId,
      partition: partitionOfKey(expected.key, env.config.kafkaTopicPartitions),
    });
  }
});

test.each([CHUNKS_IN_FLIGHT, 3])('an attempt stopped mid-publication, %i chunk(s) in flight, leaves a checkpoint every customer behind it is already in the topic for; the retry gives one row per customer', async (inFlight) => {
  const runId = `publish-resume-${inFlight}-${++runs}`;
  const rows = stagedRows();
  await stage(runId, rows);
  const deps = dependencies('lz4', inFlight);

  // The first attempt: stopped after its fifth acknowledged chunk, with more chunks on their way.
  const first = new MockActivityEnvironment({ activityId: `publish-${runId}`, attempt: 1, scheduledTimestampMs: Date.now() });
  let checkpoint: PublishCheckpoint | undefined;
  first.on('heartbeat', (details: PublishCheckpoint) => {
    checkpoint = structuredClone(details);
    if (details.chunks === 5) first.cancel();
  });
  await expect(first.run(createPublishPurchaseCounts(deps), { runId, chunkSize: CHUNK })).rejects.toBeDefined();
  expect(checkpoint).toMatchObject({ chunks: 5, messagesPublished: 5 * CHUNK, lastCustomerId: rows[5 * CHUNK - 1].CustomerID });

  // Behind the checkpoint: every customer, already in the topic before any retry.
  const admin = deps.kafka.admin();
  await admin.connect();
  const now = Object.fromEntries((await admin.fetchTopicOffsets(env.config.kafkaTopic)).map(({ partition, high }) => [partition, high]));
  await admin.disconnect();
  const sentSoFar = await readRanges(
    Object.entries(checkpoint!.startOffsets).map(([partition, fromOffset]) => ({ partition: Number(partition), fromOffset, toOffset: now[Number(partition)], topic: env.config.kafkaTopic })),
  );
  const keysSoFar = new Set(sentSoFar.map((message) => Number(message.key)));
  const missing = rows.filter((row) => row.CustomerID <= checkpoint!.lastCustomerId && !keysSoFar.has(row.CustomerID));
  expect(missing).toEqual([]);

  // The retry resumes from the checkpoint (Temporal hands it the last heartbeat's details). Its
  // Kafka connect is slow (past a heartbeat's 5 s), as a broker's can be: what it beats meanwhile
  // must still be the checkpoint, since each heartbeat replaces the one the next attempt resumes from.
  const second = new MockActivityEnvironment({ activityId: `publish-${runId}`, attempt: 2, scheduledTimestampMs: first.context.info.scheduledTimestampMs, heartbeatDetails: structuredClone(checkpoint) });
  const retried: Array<PublishCheckpoint | undefined> = [];
  second.on('heartbeat', (details: PublishCheckpoint | undefined) => retried.push(structuredClone(details)));
  const slowAdmin = () => {
    const admin = deps.kafka.admin();
    const connect = admin.connect.bind(admin);
    admin.connect = () => new Promise((resolve) => setTimeout(resolve, 5_500)).then(connect);
    return admin;
  };
  const slowKafka = new Proxy(deps.kafka, { get: (kafka, key) => (key === 'admin' ? slowAdmin : Reflect.get(kafka, key)) });
  const result: PublishResult = await second.run(createPublishPurchaseCounts({ ...deps, kafka: slowKafka }), { runId, chunkSize: CHUNK });
  expect(retried.length).toBeGreaterThan(1); // one while it connected, then one per acknowledged chunk
  // (Named, not compared as undefined: toEqual takes [undefined] for [].)
  const behind = retried.map((details) => details?.lastCustomerId ?? 'no checkpoint').filter((last) => !(typeof last === 'number' && last >= checkpoint!.lastCustomerId));
  expect(behind).toEqual([]);
  expect(result.messagesPublished).toBe(CUSTOMERS);
  const all = await readRanges(result.ranges);
  expect(new Set(all.map((message) => message.key)).size).toBe(CUSTOMERS);

  const classify = new MockActivityEnvironment({ activityId: `classify-${runId}`, attempt: 1, scheduledTimestampMs: Date.now() });
  await classify.run(createClassifyCustomers(deps), { runId, threshold: 5, batchSize: 500, ranges: result.ranges });
  const written = await env.db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .orderBy('CustomerID')
    .select('CustomerID', 'PurchaseCount', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment');
  expect(written).toEqual(rows);
});
