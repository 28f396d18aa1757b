/**
 * What a worker serves at METRICS_ADDRESS (docs/monitoring.md), on the real stack: `segment
 * worker` processes with an endpoint each, a generated workbook run end to end, then /metrics
 * scraped. The pipeline's figures are the ones the run recorded in MySQL, the SDK's own
 * `temporal_` metrics are on the same endpoint, exactly one of two workers on a database exports
 * the database gauges and the other takes over when it dies, and a port in use ends a worker at
 * once, naming METRICS_ADDRESS.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { DROP_REASONS } from '../../lib/cleaning/drop-reason';
import type { DataQualityReport } from '../../lib/cleaning/data-quality-report';
import { PROJECT_ROOT } from '../../lib/config';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { customerSegmentation } from '../../workflows';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { STEPS } from '../../workflows/steps';
import { freePorts } from '../support/free-ports';
import { scrape, scrapeUntil, type Scrape } from '../support/prometheus-scrape';
import { startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-'));
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-logs-'));
let env: TestEnvironment;
let workbook: GeneratedWorkbook;
const workers: WorkerProcess[] = [];
const schedules: string[] = [];

beforeAll(async () => {
  env = await createTestEnvironment('metrics', { dataDir });
  workbook = await generateWorkbook({ outPath: path.join(dataDir, 'small.xlsx'), rows: 4_000, seed: 17 });
  // After it, an export with no rows is implausible: its audit holds it.
  await generateWorkbook({ outPath: path.join(dataDir, 'header-only.xlsx'), rows: 0, seed: 17 });
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.kill()));
  for (const scheduleId of schedules) await env?.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(logDir, { recursive: true, force: true });
});

/** A `segment worker` on the test's slice, serving metrics on a free port of its own. */
async function startMetricsWorker(name: string): Promise<{ worker: WorkerProcess; address: string }> {
  const address = `127.0.0.1:${await freePorts(1)}`;
  // The database gauges refresh every second, not every 15: each wait below is for one refresh.
  const worker = startWorkerProcess({ ...env.env, METRICS_ADDRESS: address, METRICS_DATABASE_REFRESH_SECONDS: '1' }, path.join(logDir, `${name}.log`));
  workers.push(worker);
  await untilPolling(worker);
  return { worker, address };
}

const counter = (scraped: Scrape, name: string, labels?: Record<string, string>) => scraped.value(name, labels) ?? NaN;

test('one endpoint: the SDK metrics and the pipeline figures of a run, equal to what MySQL recorded; one worker exports the database gauges, another takes over', async () => {
  const first = await startMetricsWorker('first');
  // A paused schedule of this workflow (it never starts a run): the gauge counts it.
  const scheduleId = `metrics-paused-${randomBytes(3).toString('hex')}`;
  await env.client.schedule.create({
    scheduleId,
    spec: { cronExpressions: ['0 3 * * *'] },
    action: { type: 'startWorkflow', workflowType: customerSegmentation, taskQueue: env.config.taskQueue, args: [{ file: 'small.xlsx' }] },
    state: { paused: true, note: 'metrics test' },
  });
  schedules.push(scheduleId);

  const handle = await startSegmentation(env.client, env.config, { file: 'small.xlsx' }, 'metrics');
  const result: SegmentationProgress = await handle.result();
  expect(result.status).toBe('completed');
  const run = await env.db(TABLES.runs).where({ run_id: result.runId }).first('rows_read', 'rows_kept', 'data_quality', 'messages_published', 'customers');
  const dataQuality = (typeof run.data_quality === 'string' ? JSON.parse(run.data_quality) : run.data_quality) as DataQualityReport;
  const categories: Array<{ FrequencyCategory: string; n: number | string }> = await env.db(TABLES.segments).groupBy('FrequencyCategory').select('FrequencyCategory').count({ n: '*' });
  const publication: { published_at: Date } = await env.db(TABLES.publication).where({ id: 1 }).first('published_at');
  expect(run.customers).toBe(workbook.customers);

  // The database gauges follow within a refresh of the publication.
  const scraped = await scrapeUntil(
    first.address,
    (s) => s.value('segmentation_database_exporter') === 1 && s.value('segmentation_last_publication_timestamp_seconds') !== undefined && (s.value('segmentation_schedules_paused') ?? 0) >= 1,
    'the first worker exporting the database gauges after the run',
  );
  console.log(`/metrics of the first worker after the run:\n${excerpt(scraped)}`);

  expect(counter(scraped, 'segmentation_rows_read_total')).toBe(run.rows_read);
  expect(counter(scraped, 'segmentation_rows_kept_total')).toBe(run.rows_kept);
  for (const reason of DROP_REASONS) expect([reason, counter(scraped, 'segmentation_rows_dropped_total', { reason })]).toEqual([reason, dataQuality.rowsDropped[reason]]);
  expect(run.rows_read).toBeGreaterThan(run.rows_kept);
  expect(counter(scraped, 'segmentation_messages_published_total')).toBe(workbook.customers);
  expect(counter(scraped, 'segmentation_messages_consumed_total')).toBe(workbook.customers);
  expect(run.messages_published).toBe(workbook.customers);
  for (const step of STEPS) {
    expect([step, counter(scraped, 'segmentation_step_duration_seconds_count', { step, outcome: 'completed' })]).toEqual([step, expect.any(Number)]);
    expect(counter(scraped, 'segmentation_step_duration_seconds_count', { step, outcome: 'completed' })).toBeGreaterThanOrEqual(1);
  }
  expect(counter(scraped, 'segmentation_runs_total', { outcome: 'completed' })).toBe(1);
  for (const outcome of ['superseded', 'held', 'failed', 'cancelled']) expect(counter(scraped, 'segmentation_runs_total', { outcome })).toBe(0);
  // Every partition's lag back to 0 once classify ended.
  const lag = scraped.find('segmentation_consumer_lag_messages');
  expect(lag.length).toBeGreaterThan(0);
  expect(lag.every((sample) => sample.value === 0)).toBe(true);

  for (const category of ['Low Frequency', 'High Frequency']) {
    const published = Number(categories.find((row) => row.FrequencyCategory === category)?.n ?? 0);
    expect([category, counter(scraped, 'segmentation_published_customers', { category })]).toEqual([category, published]);
  }
  expect(counter(scraped, 'segmentation_published_customers', { category: 'Low Frequency' })).toBe(workbook.low);
  expect(counter(scraped, 'segmentation_published_customers', { category: 'High Frequency' })).toBe(workbook.high);
  expect(counter(scraped, 'segmentation_last_publication_timestamp_seconds')).toBeCloseTo(publication.published_at.getTime() / 1000, 3);
  const age = counter(scraped, 'segmentation_published_result_age_seconds');
  expect(age).toBeGreaterThanOrEqual(0);
  expect(age).toBeLessThan((Date.now() - publication.published_at.getTime()) / 1000 + 1);
  expect(counter(scraped, 'segmentation_runs_awaiting_operator')).toBe(0);
  expect(counter(scraped, 'segmentation_runs_held')).toBe(0);
  // The SDK's own metrics, on the same endpoint: its pollers on this task queue among them.
  expect(scraped.samples.some((sample) => sample.name.startsWith('temporal_'))).toBe(true);
  expect(scraped.find('temporal_num_pollers', { task_queue: env.config.taskQueue }).length).toBeGreaterThan(0);

  // A run its audit holds: counted as held, and shown by the gauge while it waits.
  const held = await startSegmentation(env.client, env.config, { file: 'header-only.xlsx' }, 'metrics-held');
  await until(async () => (await held.query(progressQuery)).status === 'awaiting-operator', 'the header-only run held');
  const whileHeld = await scrapeUntil(first.address, (s) => s.value('segmentation_runs_held') === 1, 'the held run in its gauge');
  expect(counter(whileHeld, 'segmentation_runs_total', { outcome: 'held' })).toBe(1);
  expect(counter(whileHeld, 'segmentation_runs_awaiting_operator')).toBe(0);
  // A run awaiting an operator after a failed step (not held) is told apart by its recorded error.
  const completedRow: Record<string, unknown> = await env.db(TABLES.runs).where({ run_id: result.runId }).first();
  // JSON columns arrive parsed: written back as text.
  const waiting = Object.fromEntries(Object.entries(completedRow).map(([column, value]) => [column, value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value]));
  await env.db(TABLES.runs).insert({ ...waiting, run_id: `${result.runId}-waiting`, workflow_id: `metrics-waiting-${randomBytes(3).toString('hex')}`, status: 'awaiting-operator', error: 'ReconciliationError: published 3, consumed 2', finished_at: null });
  await scrapeUntil(first.address, (s) => s.value('segmentation_runs_awaiting_operator') === 1 && s.value('segmentation_runs_held') === 1, 'one run awaiting, one held');
  await held.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', reason: 'metrics test' }] });
  await expect(held.result()).rejects.toThrow();
  const afterAbort = await scrapeUntil(first.address, (s) => s.value('segmentation_runs_held') === 0, 'the aborted run out of the held gauge');
  expect(counter(afterAbort, 'segmentation_runs_total', { outcome: 'failed' })).toBe(1);

  // A second worker on the same database: it serves the same metrics but does not export the database gauges...
  const second = await startMetricsWorker('second');
  await until(async () => /another worker exports them/.test(second.worker.output()), 'the second worker finding the lock taken');
  const secondScrape = await scrape(second.address);
  expect(secondScrape.value('segmentation_database_exporter')).toBe(0);
  expect(secondScrape.value('segmentation_runs_held')).toBeUndefined();
  expect((await scrape(first.address)).value('segmentation_database_exporter')).toBe(1);

  // ...until the first dies: MySQL lets its lock go with its connection, and the second takes it at its next refresh.
  await first.worker.kill();
  const takenOver = await scrapeUntil(second.address, (s) => s.value('segmentation_database_exporter') === 1 && s.value('segmentation_published_customers', { category: 'Low Frequency' }) !== undefined, 'the second worker taking over');
  expect(counter(takenOver, 'segmentation_published_customers', { category: 'Low Frequency' })).toBe(workbook.low);
  expect(counter(takenOver, 'segmentation_last_publication_timestamp_seconds')).toBeCloseTo(publication.published_at.getTime() / 1000, 3);
});

test('METRICS_ADDRESS already in use: the worker ends at once with one line naming the setting', async () => {
  const port = await freePorts(1);
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  try {
    const startedAt = Date.now();
    const worker = spawnSync('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), 'worker'], {
      env: { ...env.env, METRICS_ADDRESS: `127.0.0.1:${port}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(worker.status).toBe(1);
    expect(worker.stdout).not.toMatch(/worker polling/);
    const lines = worker.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toEqual([`segment: METRICS_ADDRESS 127.0.0.1:${port} is already in use (another worker on this machine?): set METRICS_ADDRESS to a free IP:PORT, or off`]);
    // Before any connection: no waiting on Temporal, Kafka or MySQL.
    expect(Date.now() - startedAt).toBeLessThan(20_000);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

/** The segmentation_ lines and a few temporal_ ones, for the log. */
function excerpt(scraped: Scrape): string {
  const lines = scraped.text.split('\n');
  return [...lines.filter((line) => line.startsWith('segmentation_')), ...lines.filter((line) => /^temporal_(num_pollers|worker_task_slots_available|request|activity_execution_latency_count)/.test(line)).slice(0, 12)].join('\n');
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
