/**
 * The fault table: each scenario lands one fault in the middle of one step of a real run (worker
 * processes killed, Kafka or MySQL crashed, Temporal restarted) and checks that, once the fault
 * is healed, the run ends with exactly the fault-free result: the same customer_segments, and
 * published == consumed == written. It prints the table (outcome, time to recover, attempts).
 *
 * The workbook is small; the run's own knobs stretch the steps so a fault can land inside them:
 * exceljs's reader for the load, one message per publish request, one row per classify transaction.
 * Its customers are many for its rows (about 1,600), so publish and classify last seconds, not a
 * fraction of one: on a busy CI machine the probe still finds them early in the step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { stackDown, stackKill, stackUp } from '../../infra/stack/stack';
import { PROJECT_ROOT } from '../../lib/config';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import type { SegmentationProgress, StepName } from '../../workflows/segmentation-progress';
import { untilMidStep } from '../support/mid-step';
import { historyFacts, segments, startSegmentation, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(900_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-table-'));
const WORKBOOK = 'faults.xlsx';
/** The worker processes' output, kept after the test for a look at what they went through. */
const LOG_DIR = path.join(PROJECT_ROOT, '.stack', 'logs', 'fault-table');
/** Stretch each step: see the file's comment. */
const SLOW_STEPS: SegmentationInput = { file: WORKBOOK, reader: 'exceljs', chunkSize: 1, classifyBatchSize: 1 };

let env: TestEnvironment;
let expected: GeneratedWorkbook;
let faultFree: SegmentRow[];
const running: WorkerProcess[] = [];
const table: Array<{ scenario: string; outcome: string; recoverySeconds: string; attempts: string }> = [];

interface Scenario {
  name: string;
  step: StepName;
  workers: number;
  /** Lands the fault; returns how to heal it (if anything needs healing). */
  fault: (run: { handle: WorkflowHandle; workers: WorkerProcess[] }) => Promise<(() => Promise<void>) | undefined>;
  /** The activity that must have been retried (a killed worker's activity times out and runs again). */
  retried?: string;
}

const newWorker = async () => {
  const worker = startWorkerProcess(env.env, path.join(LOG_DIR, `worker-${running.length}.log`));
  running.push(worker);
  await untilPolling(worker);
  return worker;
};
const killWorker = (retried: string): Scenario['fault'] => async ({ workers }) => {
  await workers[0].kill();
  // The new worker is the scenario's too, stopped with it: a worker left polling would take the
  // next scenario's activities away from the worker that scenario means to kill.
  return async () => void workers.push(await newWorker());
};
const crash = (server: 'kafka' | 'mysql'): Scenario['fault'] => async () => {
  await stackKill(server); // SIGKILL: a crash, no clean shutdown
  await sleep(2_000); // the run sees the server gone for a while, then it comes back
  return async () => void (await stackUp([server]));
};

const SCENARIOS: Scenario[] = [
  { name: 'worker SIGKILLed during load', step: 'load', workers: 1, fault: killWorker('loadWorkbookPart'), retried: 'loadWorkbookPart' },
  { name: 'worker SIGKILLed during publish', step: 'publish', workers: 1, fault: killWorker('publishPurchaseCounts'), retried: 'publishPurchaseCounts' },
  { name: 'worker SIGKILLed during classify', step: 'classify', workers: 1, fault: killWorker('classifyCustomers'), retried: 'classifyCustomers' },
  // A crashed server may be retried by the activity (a new attempt) or by kafkajs inside it (the
  // batch again): either way the step can only finish once the server is back.
  { name: 'Kafka broker crashed during publish, restarted', step: 'publish', workers: 1, fault: crash('kafka') },
  { name: 'Kafka broker crashed during classify, restarted', step: 'classify', workers: 1, fault: crash('kafka') },
  { name: 'MySQL crashed during classify, restarted', step: 'classify', workers: 1, fault: crash('mysql') },
  {
    name: 'Temporal dev server restarted during publish (SQLite kept)',
    step: 'publish',
    workers: 1,
    fault: async () => {
      await stackDown(['temporal']);
      return async () => void (await stackUp(['temporal']));
    },
  },
  {
    name: 'two workers on the queue, the one classifying SIGKILLed',
    step: 'classify',
    workers: 2,
    fault: async ({ handle, workers }) => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const identities = pending.filter((activity) => activity.activityType?.name === 'classifyCustomers').map((activity) => activity.lastWorkerIdentity);
      const victim = workers.find((worker) => identities.some((identity) => identity?.startsWith(`${worker.pid}@`)));
      if (!victim) throw new Error(`no worker of ${workers.map((worker) => worker.pid).join(', ')} runs classify (${identities.join(', ')})`);
      await victim.kill();
      return undefined; // the other worker carries on
    },
    retried: 'classifyCustomers',
  },
];

beforeAll(async () => {
  await Promise.all(['temporal', 'kafka', 'mysql'].map((name) => requireManagedServer(name as 'temporal')));
  env = await createTestEnvironment('faults', { dataDir });
  expected = await generateWorkbook({ outPath: path.join(dataDir, WORKBOOK), rows: 60_000, customers: 5_000, seed: 21 });
  // The fault-free result, from a clean run of the same input.
  const worker = await newWorker();
  const clean = await (await startSegmentation(env.client, env.config, SLOW_STEPS, 'fault-free')).result();
  expect(clean.summary).toMatchObject({ customers: expected.customers, low: expected.low, high: expected.high });
  faultFree = await segments(env.db);
  await worker.kill();
});

afterAll(async () => {
  await Promise.all(running.map((worker) => worker.kill()));
  await stackUp(); // whatever happened, leave the stack running for the next test file
  console.log(
    ['| scenario | outcome | time to recover | activity attempts |', '| --- | --- | --- | --- |']
      .concat(table.map((row) => `| ${row.scenario} | ${row.outcome} | ${row.recoverySeconds} | ${row.attempts} |`))
      .join('\n'),
  );
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.each(SCENARIOS)('$name: the run completes with exactly the fault-free result', async (scenario) => {
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < scenario.workers; i++) workers.push(await newWorker());
  const handle = await startSegmentation(env.client, env.config, SLOW_STEPS, 'fault');
  const { runId } = await untilMidStep(env, handle, scenario.step, expected.customers);

  const faultAt = Date.now();
  const heal = await scenario.fault({ handle, workers });
  const healedAt = Date.now();
  await heal?.();
  const result: SegmentationProgress = await handle.result();
  const recoverySeconds = (Date.now() - healedAt) / 1000;

  expect(result.runId).toBe(runId);
  expect(result.status).toBe('completed');
  expect(result.summary).toMatchObject({
    rowsRead: expected.rowsRead,
    customers: expected.customers,
    low: expected.low,
    high: expected.high,
    messagesPublished: expected.customers,
    customersConsumed: expected.customers,
    rowsWritten: expected.customers,
    published: true,
  });
  expect(await segments(env.db)).toEqual(faultFree);
  expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: runId }]);
  const { attempts } = await historyFacts(env.client, handle.workflowId);
  if (scenario.retried) expect(attempts[scenario.retried]).toBeGreaterThanOrEqual(2);
  // The fault hit the step while it still had work to do.
  expect(new Date(result.steps[scenario.step].finishedAt!).getTime()).toBeGreaterThan(faultAt);
  table.push({
    scenario: scenario.name,
    outcome: `completed exactly (${expected.customers} customers)`,
    recoverySeconds: `${recoverySeconds.toFixed(1)} s`,
    attempts: Object.entries(attempts)
      .filter(([, count]) => count > 1)
      .map(([type, count]) => `${type} ${count}`)
      .join(', ') || 'all first attempts',
  });
  await Promise.all(workers.map((worker) => worker.kill()));
});
