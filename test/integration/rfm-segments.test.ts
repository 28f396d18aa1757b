/**
 * RFM segments through the real Temporal, Kafka and MySQL, on a small workbook of ten customers
 * who tie on each of the three values (test/support/rfm-ties.ts, worked out by hand):
 * - ties: equal values get equal scores in customer_segments, as MySQL's RANK() computes them;
 * - the segment map: a rules file in DATA_DIR with a gap fails the run at once (nothing loaded),
 *   one with other names publishes those names;
 * - `asOf`: moves RecencyDays by the days given, the scores stay; before the newest invoice it is
 *   refused;
 * - a version-1 message (from a worker before RFM) in the run's range: the classify step refuses
 *   it, naming partition and offset, and writes nothing.
 * The audit is off (`audit: false`): these runs re-segment the same customers on purpose, and the
 * audit's checks have tests of their own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Producer } from 'kafkajs';
import { createClassifyCustomers } from '../../activities/classify-customers';
import { RUN_ID_HEADER } from '../../activities/purchase-count-message';
import { kafkaClient } from '../../lib/kafka';
import { STAGING_TABLES, TABLES } from '../../lib/tables';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { failedRun, historyFacts, rfmSegments, startSegmentation } from '../support/run-workflow';
import { TIE_EXPECTED, TIE_LINES, tieSheetRows } from '../support/rfm-ties';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { topicProducer } from '../support/topic-producer';
import { writeWorkbook } from '../unit/support/write-workbook';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfm-segments-'));
const WORKBOOK = 'ties.xlsx';
let env: TestEnvironment;

const DEFAULT_SEGMENTS = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'rules', 'rfm-segments.json'), 'utf8')).segments as Array<{ segment: string }>;
const THREE_SEGMENTS = [
  { segment: 'Dormant', recency: '1-2', frequency: '1-5' },
  { segment: 'Warm', recency: '3', frequency: '1-5' },
  { segment: 'Hot', recency: '4-5', frequency: '1-5' },
];

beforeAll(async () => {
  await writeWorkbook(path.join(dataDir, WORKBOOK), [{ name: 'Online Retail', rows: tieSheetRows() }]);
  fs.mkdirSync(path.join(dataDir, 'rules'));
  // The ten names without "Need Attention": the pair (recency 3, frequency 3) has no segment.
  const gap = DEFAULT_SEGMENTS.filter((entry) => entry.segment !== 'Need Attention');
  fs.writeFileSync(path.join(dataDir, 'rules', 'gap.json'), JSON.stringify({ version: 1, segments: gap }));
  fs.writeFileSync(path.join(dataDir, 'rules', 'three.json'), JSON.stringify({ version: 1, segments: THREE_SEGMENTS }));
  env = await createTestEnvironment('rfm_segments', { dataDir });
  await env.startWorker();
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function completedRun(input: Partial<SegmentationInput>, prefix: string): Promise<SegmentationProgress> {
  const result: SegmentationProgress = await (await startSegmentation(env.client, env.config, { file: WORKBOOK, audit: false, ...input }, prefix)).result();
  expect(result.status).toBe('completed');
  return result;
}

/** The run MySQL recorded for a workflow id: its key and status. */
async function recordedRun(workflowId: string): Promise<{ run_id: string; status: string }> {
  return await env.db(TABLES.runs).where({ workflow_id: workflowId }).first('run_id', 'status');
}

/** Every row the run left in the staging tables and its history, per table: none, for a run refused before it counted. */
async function rowsOfRun(runId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of STAGING_TABLES) counts[table] = Number((await env.db(table).where({ run_id: runId }).count({ n: '*' }))[0].n);
  counts[TABLES.segmentHistory] = Number((await env.db(TABLES.segmentHistory).where({ RunId: runId }).count({ n: '*' }))[0].n);
  return counts;
}

const none = () => Object.fromEntries([...STAGING_TABLES, TABLES.segmentHistory].map((table) => [table, 0]));

let published: SegmentationProgress;

test('customers who tie on recency, frequency or Monetary get equal scores in customer_segments, as worked out by hand', async () => {
  published = await completedRun({}, 'rfm-ties');
  expect(await rfmSegments(env.db)).toEqual(TIE_EXPECTED);
  expect(await rfmSegments(env.db, published.runId)).toEqual(TIE_EXPECTED);
  // The run says what it counted to and which map it used.
  expect(published.invoices).toMatchObject({ asOf: '2011-12-10', rfmRules: 'rules/rfm-segments.json', newest: '2011-12-09T12:50:00' });
  // Two lines are dropped (a cancellation, a zero quantity): Monetary and the counts leave them out.
  expect(published.summary).toMatchObject({ customers: 10, rowsRead: TIE_LINES.length, rowsKept: TIE_LINES.length - 2, published: true });
});

test('a rules file with a gap fails the run at once, naming the pair, and loads nothing', async () => {
  const { workflowId, cause } = await failedRun(env.client, env.config, { file: WORKBOOK, audit: false, rfmRules: 'rules/gap.json' }, 'rfm-gap');
  expect(cause.type).toBe('InvalidInputError');
  expect(cause.message).toBe('input field "rfmRules" file "rules/gap.json" maps the score pair (recency 3, frequency 3) to no segment');
  const run = await recordedRun(workflowId);
  expect(run.status).toBe('failed');
  // Refused by the plan, first attempt, before a single sheet was loaded.
  const { attempts } = await historyFacts(env.client, workflowId);
  expect(attempts.planLoad).toBe(1);
  expect(attempts.loadWorkbookPart).toBeUndefined();
  const progress = await env.client.workflow.getHandle(workflowId).query(progressQuery);
  expect(progress).toMatchObject({ status: 'failed', currentStep: 'load', steps: { load: { status: 'failed' }, aggregate: { status: 'pending' } } });
  expect(await rowsOfRun(run.run_id)).toEqual(none());
  expect(await rfmSegments(env.db)).toEqual(TIE_EXPECTED);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: published.runId }]);
});

test('a valid rules file with other names publishes those names, on the same scores', async () => {
  const result = await completedRun({ rfmRules: 'rules/three.json' }, 'rfm-three');
  expect(result.invoices).toMatchObject({ asOf: '2011-12-10', rfmRules: 'rules/three.json' });
  const byRecency = (score: number) => (score <= 2 ? 'Dormant' : score === 3 ? 'Warm' : 'Hot');
  const expected = TIE_EXPECTED.map((row) => ({ ...row, RfmSegment: byRecency(row.RecencyScore) }));
  expect(expected.map((row) => row.RfmSegment)).toEqual(['Dormant', 'Dormant', 'Dormant', 'Dormant', 'Dormant', 'Warm', 'Hot', 'Hot', 'Hot', 'Hot']);
  expect(await rfmSegments(env.db)).toEqual(expected);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: result.runId }]);
});

test.each([
  ['a month later', '2012-01-10', 31],
  ['the newest invoice\'s own day (RecencyDays 0)', '2011-12-09', -1],
])('asOf %s moves RecencyDays by the days between; the scores and segments stay', async (_case, asOf, days) => {
  const result = await completedRun({ asOf }, 'rfm-as-of');
  expect(result.invoices).toMatchObject({ asOf });
  const expected = TIE_EXPECTED.map((row) => ({ ...row, RecencyDays: row.RecencyDays === null ? null : row.RecencyDays + days }));
  expect(await rfmSegments(env.db, result.runId)).toEqual(expected);
  expect(await rfmSegments(env.db)).toEqual(expected);
});

test('asOf before the newest invoice is refused, naming asOf, and nothing is published', async () => {
  const before = await rfmSegments(env.db);
  const { workflowId, cause } = await failedRun(env.client, env.config, { file: WORKBOOK, audit: false, asOf: '2011-12-08' }, 'rfm-as-of-early');
  expect(cause.type).toBe('InvalidInputError');
  expect(cause.message).toMatch(/^input field "asOf" is 2011-12-08, before the newest invoice that counts \(2011-12-09\): RecencyDays cannot be negative/);
  const run = await recordedRun(workflowId);
  expect(run.status).toBe('failed');
  expect((await historyFacts(env.client, workflowId)).attempts.aggregatePurchases).toBe(1);
  // The aggregate step's transaction rolled back: no counts, nothing published, nothing in the history.
  const rows = await rowsOfRun(run.run_id);
  expect([rows[TABLES.stagingCounts], rows[TABLES.segmentHistory], rows[TABLES.consumerOffsets]]).toEqual([0, 0, 0]);
  expect(await rfmSegments(env.db)).toEqual(before);
});

describe('a version-1 message in the range the classify step reads', () => {
  const runId = 'rfm-version-1-run';
  let producer: Producer;

  beforeAll(async () => {
    producer = await topicProducer(env, 'rfm-segments-test');
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  test('is refused with MessageVersionError naming its partition and offset, and nothing is written', async () => {
    // Exactly what a worker before RFM sent: no version field, no RFM values, the run in a header.
    // First another run's message (skipped, whatever its version), then two of this run's.
    const v1 = (customerId: number, run: string) => ({
      partition: 0,
      key: String(customerId),
      value: JSON.stringify({ customerId, purchaseCount: 3 }),
      headers: { [RUN_ID_HEADER]: run },
    });
    const [sent] = await producer.send({ topic: env.config.kafkaTopic, acks: -1, messages: [v1(12346, 'another-run'), v1(12347, runId), v1(12348, runId)] });
    const first = BigInt(sent.baseOffset!);
    const ranges = [{ partition: 0, fromOffset: first.toString(), toOffset: (first + 3n).toString(), topic: env.config.kafkaTopic }];

    const classify = createClassifyCustomers({
      db: env.db,
      kafka: kafkaClient(env.config.kafkaBrokers, 'rfm-segments-worker', env.config.kafkaSecurity),
      topic: env.config.kafkaTopic,
      topicPartitions: env.config.kafkaTopicPartitions,
      dataDir,
      retention: env.config.retention,
    });
    const activity = new MockActivityEnvironment({ activityId: 'classify-version-1', attempt: 1, scheduledTimestampMs: Date.now() });
    const outcome = await activity.run(classify, { runId, threshold: 5, batchSize: 100, ranges }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(outcome).toMatchObject({ name: 'MessageVersionError' });
    expect((outcome as Error).message).toBe(
      `the message at partition 0, offset ${first + 1n} of topic "${env.config.kafkaTopic}" is of version 1, and this worker reads version 2 only ` +
        '(it was published by a worker of another release): `segment retry` publishes the run again',
    );
    expect(await rowsOfRun(runId)).toEqual(none());
  });
});
