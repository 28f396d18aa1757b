/**
 * A run on a three-broker Kafka cluster survives losing a broker twice: one is killed (SIGKILL)
 * while the publish step sends, and restarted; another is killed while the classify step
 * consumes. The result is exactly the generator's ground truth, and published == consumed ==
 * written.
 *
 * The cluster is the test's own (a temporary STACK_DIR on free ports), so the stack the other
 * test files use is never disturbed; it is stopped and deleted afterwards, pass or fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { stackDown, stackKill, stackUp } from '../../infra/stack/stack';
import { loadStackSettings, type StackSettings } from '../../infra/stack/stack-settings';
import { connectKafkaAdmin, ensureTopic } from '../../lib/kafka';
import { PORTS_PER_BROKER } from '../../lib/local-kafka-ports';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { freePorts } from '../support/free-ports';
import { fencedWriteHolds } from '../support/hold-fenced-write';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { historyFacts, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const BROKERS = 3;
const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-cluster-stack-'));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-cluster-data-'));
const log = (line: string) => process.stderr.write(`  [kafka-cluster] ${line}\n`);
let cluster: StackSettings | undefined;
let env: TestEnvironment | undefined;

/**
 * Classify's first commit waits until the test has killed a broker: the consumer has read a batch
 * from Kafka and not yet written it, so the kill lands mid-consume however fast the step runs (a
 * default-sized classify can be over within a second of starting).
 */
const holds = fencedWriteHolds();

beforeAll(async () => {
  const firstPort = await freePorts(BROKERS * PORTS_PER_BROKER);
  cluster = {
    ...loadStackSettings({
      ...process.env,
      STACK_DIR: stackDir,
      KAFKA_BROKER_COUNT: String(BROKERS),
      KAFKA_BROKERS: `127.0.0.1:${firstPort}`,
      KAFKA_CONTROLLER_PORT: String(firstPort + 1),
      KAFKA_SASL_PORT: String(firstPort + 2),
    }),
    // The Kafka jars the main stack already fetched.
    toolsDir: loadStackSettings().toolsDir,
  };
  await stackUp(['kafka'], log, cluster);
  env = await createTestEnvironment('kafka_cluster', { dataDir, kafkaBrokers: cluster.kafka.brokers });
  await env.startWorker(undefined, holds.testHooks);
});

afterAll(async () => {
  try {
    await env?.cleanup();
  } finally {
    if (cluster) await stackDown(['kafka'], log, cluster);
    fs.rmSync(stackDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a run completes exactly with a broker killed mid-publish and another mid-consume', async () => {
  const { config, client, db } = env!;
  const expected = await generateWorkbook({ outPath: path.join(dataDir, 'cluster.xlsx'), rows: 50_000, seed: 11 });

  // The topic as the stack would make it on this cluster: three replicas, two must have each write.
  const admin = await connectKafkaAdmin(cluster!.kafka.brokers, 'kafka-cluster-test', cluster!.kafka.security);
  try {
    await ensureTopic(admin, config.kafkaTopic, config.kafkaTopicPartitions);
    // A new topic reaches every broker's metadata a moment after its leaders: on a busy machine,
    // the broker asked may not host it yet.
    await waitForFullReplicas(config.kafkaTopic);
    const { topics } = await admin.fetchTopicMetadata({ topics: [config.kafkaTopic] });
    expect(topics[0].partitions.map((partition) => partition.replicas.length)).toEqual(Array(config.kafkaTopicPartitions).fill(3));
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* topic */, name: config.kafkaTopic, configNames: ['min.insync.replicas'] }],
    });
    expect(resources[0].configEntries[0].configValue).toBe('2');
  } finally {
    await admin.disconnect();
  }

  // One message per send: the publish step lasts long enough to be interrupted.
  const handle = await startSegmentation(client, config, { file: 'cluster.xlsx', chunkSize: 1 }, 'kafka-cluster');
  const classifyCommit = holds.hold(handle, 'classify'); // armed now: classify may start while kafka-1 catches up

  // Broker 1 dies once publish has recorded where the run's offsets start: it is sending.
  await waitForActivity(handle, 'publishPurchaseCounts', (activity) => Boolean(activity.heartbeatDetails));
  await stackKill('kafka-1', cluster);
  log('killed kafka-1 during publish');
  expect(await isPending(handle, 'publishPurchaseCounts')).toBe(true);
  await stackUp(['kafka-1'], log, cluster);
  await waitForFullReplicas(config.kafkaTopic);
  log(`kafka-1 back in sync; publish still running: ${await isPending(handle, 'publishPurchaseCounts')}`);

  // Broker 2 dies while the classify step holds the first batch it read.
  await classifyCommit.untilHeld();
  try {
    await stackKill('kafka-2', cluster);
    log('killed kafka-2 during classify');
    expect(await isPending(handle, 'classifyCustomers')).toBe(true);
  } finally {
    classifyCommit.release();
  }

  const result: SegmentationProgress = await handle.result();
  const { attempts } = await historyFacts(client, handle.workflowId);
  const seconds = Object.fromEntries(Object.entries(result.steps).map(([step, { seconds: s }]) => [step, s]));
  log(`seconds per step: ${JSON.stringify(seconds)}; attempts per activity: ${JSON.stringify(attempts)}`);

  expect(result.summary).toMatchObject({
    rowsRead: expected.rowsRead,
    rowsKept: expected.rowsKept,
    customers: expected.customers,
    low: expected.low,
    high: expected.high,
    purchases: expected.purchases,
    messagesPublished: expected.customers,
    customersConsumed: expected.customers,
    rowsWritten: expected.customers,
  });
  const [table] = await db('customer_segments')
    .where({ RunId: result.runId })
    .select(
      db.raw('COUNT(*) AS customers'),
      db.raw('SUM(PurchaseCount) AS purchases'),
      db.raw("SUM(FrequencyCategory = 'Low Frequency') AS low"),
      db.raw("SUM(FrequencyCategory = 'High Frequency') AS high"),
    );
  expect(Object.fromEntries(Object.entries(table).map(([key, value]) => [key, Number(value)]))).toEqual({
    customers: expected.customers,
    purchases: expected.purchases,
    low: expected.low,
    high: expected.high,
  });
});

type PendingActivity = NonNullable<Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities']>[number];

/** Polls the run's pending activities until `type` is running and `ready` says so. */
async function waitForActivity(handle: WorkflowHandle, type: string, ready: (activity: PendingActivity) => boolean): Promise<void> {
  for (;;) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') throw new Error(`the run ended (${description.status.name}) before ${type} ran`);
    const activity = description.raw.pendingActivities?.find((pending) => pending.activityType?.name === type);
    if (activity && activity.lastStartedTime && ready(activity)) return;
    await sleep(50);
  }
}

async function isPending(handle: WorkflowHandle, type: string): Promise<boolean> {
  const { raw } = await handle.describe();
  return Boolean(raw.pendingActivities?.some((pending) => pending.activityType?.name === type));
}

/** Until every partition of the topic has all its replicas in sync again (the restarted broker caught up). */
async function waitForFullReplicas(topic: string): Promise<void> {
  const admin = await connectKafkaAdmin(cluster!.kafka.brokers, 'kafka-cluster-test', cluster!.kafka.security);
  try {
    for (;;) {
      // A broker that does not know the topic yet answers with a retriable error: asked again.
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch((error: { retriable?: boolean }) => {
        if (error.retriable) return undefined;
        throw error;
      });
      const partitions = metadata?.topics[0].partitions ?? [];
      if (partitions.length > 0 && partitions.every((partition) => partition.isr.length === BROKERS)) return;
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

