/**
 * The alerts fire for real: `stackUp(['prometheus'])` starts Debian's Prometheus (installed if
 * missing) on a free port with a data folder of its own, scraping a `segment worker` that serves
 * its metrics on another free port, with infra/prometheus/alerts.yml loaded. A workbook with a
 * bad cell makes its run wait for an operator: Prometheus' HTTP API shows
 * SegmentationRunAwaitingOperator firing. Aborted, the run fails: SegmentationRunFailed fires and
 * the first alert resolves. Scrape, evaluation and the worker's database gauges every second here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ExcelJS from 'exceljs';
import { stackDown, stackStatus, stackUp } from '../../infra/stack/stack';
import { loadStackSettings, type StackSettings } from '../../infra/stack/stack-settings';
import { TRANSACTION_COLUMNS } from '../../lib/workbook/transaction-columns';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import { progressQuery } from '../../workflows/segmentation-progress';
import { freePorts } from '../support/free-ports';
import { startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(600_000);

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-alerts-'));
const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-alerts-stack-'));
let env: TestEnvironment;
let settings: StackSettings;
let worker: WorkerProcess | undefined;
let prometheusUrl: string;

beforeAll(async () => {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Online Retail');
  sheet.addRow([...TRANSACTION_COLUMNS]);
  sheet.addRow(['536365', '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', 6, new Date('2010-12-01T08:26:00Z'), 2.55, 17850, 'United Kingdom']);
  sheet.addRow(['536366', '22633', 'HAND WARMER', 'six', new Date('2010-12-01T08:28:00Z'), 1.85, 17850, 'United Kingdom']);
  await workbook.xlsx.writeFile(path.join(dataDir, 'bad-quantity.xlsx'));

  env = await createTestEnvironment('prometheus_alerts', { dataDir });
  const prometheusPort = await freePorts(2);
  const metricsPort = prometheusPort + 1;
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  // The test's own Prometheus (not the shared stack's 9090, which other tests may use).
  settings = loadStackSettings({
    ...env.env,
    STACK_DIR: stackDir,
    PROMETHEUS_ADDRESS: `127.0.0.1:${prometheusPort}`,
    PROMETHEUS_TARGETS: metricsAddress,
    PROMETHEUS_SCRAPE_INTERVAL: '1s',
    PROMETHEUS_EVALUATION_INTERVAL: '1s',
  });
  prometheusUrl = `http://${settings.prometheus.address}`;
  const [up] = await stackUp(['prometheus'], (line) => console.log(line), settings);
  expect(up).toMatchObject({ name: 'prometheus', action: 'started' });

  worker = startWorkerProcess({ ...env.env, METRICS_ADDRESS: metricsAddress, METRICS_DATABASE_REFRESH_SECONDS: '1' }, path.join(stackDir, 'logs', 'worker.log'));
  await untilPolling(worker, 60_000);
}, 900_000);

afterAll(async () => {
  await worker?.kill();
  if (settings) await stackDown(['prometheus'], () => undefined, settings);
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(stackDir, { recursive: true, force: true });
});

async function api<T>(endpoint: string): Promise<T> {
  const response = await fetch(`${prometheusUrl}/api/v1/${endpoint}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${endpoint}: ${body.error}`);
  return body.data;
}

const alerts = async () => (await api<{ alerts: Alert[] }>('alerts')).alerts;
const query = async (expr: string) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent(expr)}`)).result;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs / 1000}s (${last instanceof Error ? last.message : 'no error'}); alerts now: ${JSON.stringify(await alerts().catch(() => []))}`);
    }
    await sleep(500);
  }
}

const firing = (name: string) => async () => (await alerts()).find((alert) => alert.labels.alertname === name && alert.state === 'firing');

test('a run waiting for an operator fires SegmentationRunAwaitingOperator; aborted, SegmentationRunFailed fires and the first resolves', async () => {
  // The stack's own status shows the running Prometheus, and its rules are loaded.
  const [status] = await stackStatus(['prometheus'], settings);
  expect(status).toMatchObject({ up: true, address: settings.prometheus.address });
  const groups = await api<{ groups: { rules: { name: string; health: string }[] }[] }>('rules');
  const rules = groups.groups.flatMap((group) => group.rules);
  expect(rules.map((rule) => rule.name)).toEqual(expect.arrayContaining(['SegmentationRunAwaitingOperator', 'SegmentationRunFailed', 'SegmentationTaskQueueNotPolled']));

  // Scraped, and elected to export the database's gauges of its (the test's own) database.
  await until('the worker scraped and exporting the database gauges', async () => {
    const [exporter] = await query('segmentation_database_exporter == 1');
    return exporter?.metric.job === 'segmentation-worker' ? exporter : undefined;
  });
  await until('the awaiting gauge scraped at 0', async () => ((await query('segmentation_runs_awaiting_operator == 0')).length ? true : undefined));
  // The SDK's pollers on the test's task queue, with the queue it should poll on its target:
  // what SegmentationTaskQueueNotPolled compares, and it stays quiet.
  const pollers = await query(`temporal_num_pollers{poller_type="workflow_task", task_queue="${env.config.taskQueue}"}`);
  expect(pollers[0]?.metric).toMatchObject({ segmentation_task_queue: env.config.taskQueue, job: 'segmentation-worker' });
  expect(Number(pollers[0].value[1])).toBeGreaterThan(0);
  const notPolled = rules.find((rule) => rule.name === 'SegmentationTaskQueueNotPolled') as unknown as { query: string };
  expect(await query(notPolled.query)).toEqual([]);
  expect((await alerts()).map((alert) => alert.labels.alertname)).not.toContain('SegmentationRunAwaitingOperator');

  // A bad cell: the load fails for good and the run waits for an operator (the default operator wait).
  const handle = await startSegmentation(env.client, env.config, { file: 'bad-quantity.xlsx' }, 'prometheus-alerts');
  await until('the run waiting for an operator', async () => ((await handle.query(progressQuery)).status === 'awaiting-operator' ? true : undefined));
  const awaiting = await until('SegmentationRunAwaitingOperator firing', firing('SegmentationRunAwaitingOperator'));
  console.log(`firing: ${JSON.stringify(awaiting, null, 2)}`);
  expect(awaiting.labels).toEqual({ alertname: 'SegmentationRunAwaitingOperator', severity: 'critical' });
  expect(awaiting.annotations.summary).toBe('1 segmentation run(s) waiting for an operator after a failed step');
  expect(awaiting.annotations.description).toContain('npx segment retry WORKFLOW_ID');
  expect((await alerts()).map((alert) => alert.labels.alertname)).not.toContain('SegmentationRunFailed');

  // Aborted: the run fails, which fires its alert, and it no longer waits.
  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', reason: 'prometheus alerts test' }] });
  await expect(handle.result()).rejects.toThrow();
  const failed = await until('SegmentationRunFailed firing', firing('SegmentationRunFailed'));
  console.log(`firing: ${JSON.stringify(failed, null, 2)}`);
  expect(failed.labels).toEqual({ alertname: 'SegmentationRunFailed', severity: 'critical' });
  await until('SegmentationRunAwaitingOperator resolved', async () =>
    (await alerts()).some((alert) => alert.labels.alertname === 'SegmentationRunAwaitingOperator') ? undefined : true,
  );
});
