/**
 * The fault table: each scenario lands one fault in the middle of one step of a real run (worker
 * processes killed, Kafka or MySQL crashed, Temporal restarted), checks that the fault hit the step
 * (its activity failed while the server was down, or was retried after its worker died), and that,
 * once the fault is healed, the run ends with exactly the fault-free result: the customer_segments
 * the generator's ground truth gives, and published == consumed == written. It prints the table
 * (outcome, time to recover, attempts).
 *
 * Kept cheap: no fault-free run (the generator knows the table), worker processes that survive a
 * scenario serve the next one, and each fault gets the smallest run that still lands it mid-step:
 * - load: exceljs's reader on a 60,000-row workbook, so the load lasts seconds; the later steps at
 *   their normal speed;
 * - publish and classify: a 20,000-row workbook of about 600 customers, one message per publish
 *   request and one row per classify transaction, so those steps last seconds, not a fraction of one.
 * Faults wait for conditions (the activity started, some messages done, a failure reported), never
 * for a fixed time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { stackDown, stackKill, stackUp } from '../../infra/stack/stack';
import { PROJECT_ROOT } from '../../lib/config';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import type { SegmentationProgress, StepName } from '../../workflows/segmentation-progress';
import { messagesIn, untilMidStep } from '../support/mid-step';
import { historyFacts, segments, startSegmentation, type HistoryFacts, type SegmentRow } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(600_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-table-'));
/** The worker processes' output, kept after the test for a look at what they went through. */
const LOG_DIR = path.join(PROJECT_ROOT, '.stack', 'logs', 'fault-table');

/**
 * A workbook, what the generator says a fault-free run of it gives, and the run input that
 * stretches one step. Each has its own database, topic and task queue (and so its own workers):
 * a run of one workbook must not be superseded by, or audited against, a run of the other.
 */
interface FaultRun {
  env: TestEnvironment;
  input: SegmentationInput;
  generated: GeneratedWorkbook;
  table: SegmentRow[];
  /** Workers that survived the last scenario: the next one uses them before starting more. */
  idleWorkers: WorkerProcess[];
}
type RunName = 'slowLoad' | 'slowPublishAndClassify';
/** Filled in beforeAll. */
const runs = {} as Record<RunName, FaultRun>;

/** Writes the workbook and keeps the generator's own per-customer truth (not read back, not cleaned by the project's code). */
async function faultRun(file: string, rows: number, customers: number, input: Omit<SegmentationInput, 'file'>): Promise<FaultRun> {
  const env = await createTestEnvironment('faults', { dataDir });
  const invoices = new Map<number, Set<string>>();
  const generated = await generateWorkbook({
    outPath: path.join(dataDir, file),
    rows,
    customers,
    seed: 21,
    onKeptRow: (customerId, invoiceNo) => void (invoices.get(customerId) ?? invoices.set(customerId, new Set()).get(customerId)!).add(invoiceNo),
  });
  const table = [...invoices]
    .sort(([a], [b]) => a - b)
    .map(([CustomerID, { size }]) => ({ CustomerID, PurchaseCount: size, FrequencyCategory: size > 5 ? 'High Frequency' : 'Low Frequency' }));
  return { env, input: { file, ...input }, generated, table, idleWorkers: [] };
}

const running: WorkerProcess[] = [];
const table: Array<{ scenario: string; outcome: string; recoverySeconds: string; attempts: string; proof: string }> = [];

/** The activity each step's work runs in. */
const STEP_ACTIVITY: Partial<Record<StepName, string>> = { load: 'loadWorkbookPart', publish: 'publishPurchaseCounts', classify: 'classifyCustomers' };

interface FaultContext {
  env: TestEnvironment;
  handle: WorkflowHandle;
  workers: WorkerProcess[];
  step: StepName;
  customers: number;
  /** Messages in the topic before this run started (earlier scenarios' runs). */
  messagesBefore: number;
  /** When the fault is about to land (Date.now()). */
  faultAt: number;
}
interface Fault {
  /** How to heal it (if anything needs healing). */
  heal?: () => Promise<void>;
  /** What shows the fault hit the step while it had work left, for the table. */
  proof: string;
}

interface Scenario {
  name: string;
  step: StepName;
  run: RunName;
  workers: number;
  /** Lands the fault and proves it hit the step (fails the test otherwise). */
  fault: (context: FaultContext) => Promise<Fault>;
  /** The activity that must have been retried (a killed worker's activity times out and runs again). */
  retried?: string;
}

const newWorker = async (env: TestEnvironment) => {
  const worker = startWorkerProcess(env.env, path.join(LOG_DIR, `worker-${running.length}.log`));
  running.push(worker);
  await untilPolling(worker);
  return worker;
};

/** A protobuf Timestamp in milliseconds; undefined when there is none. */
const timestampMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : undefined;

/**
 * Waits, with the server still down, until the step's activity has reported a failure of an
 * attempt that ended after the fault: the proof that the fault hit the step. A fault that landed
 * after the step finished never gets here, nor does a failure from before the fault (a publish
 * that met a new topic's leaders still moving, say).
 */
async function untilStepFailed({ handle, step, faultAt }: FaultContext): Promise<string> {
  const activity = STEP_ACTIVITY[step]!;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(100)) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    // A server that does not say when the attempt ended (older ones): any failure counts.
    const failed = pending.find((one) => one.activityType?.name === activity && one.lastFailure && (timestampMs(one.lastAttemptCompleteTime) ?? faultAt) >= faultAt);
    if (failed) return `${activity} attempt ${failed.attempt ?? '?'} pending after: ${failed.lastFailure!.message?.slice(0, 60)}`;
  }
  throw new Error(`${activity} reported no failure while the server was down: the fault missed step ${step}`);
}

const killWorker = (): Scenario['fault'] => async ({ env, workers }) => {
  await workers[0].kill();
  workers.shift();
  // The replacement carries on (and serves the next scenario, as one of its workers).
  return { heal: async () => void workers.push(await newWorker(env)), proof: 'retried after its worker died (attempts)' };
};
const crash = (server: 'kafka' | 'mysql'): Scenario['fault'] => async (context) => {
  await stackKill(server); // SIGKILL: a crash, no clean shutdown
  const proof = await untilStepFailed(context); // the run sees the server gone, then it comes back
  return { heal: async () => void (await stackUp([server])), proof };
};

/** Messages in the run's topic: publish's work done, readable while Temporal is down. */
async function messagesInTopic(env: TestEnvironment): Promise<number> {
  const admin = await connectKafkaAdmin(env.config.kafkaBrokers, 'fault-table-probe', env.config.kafkaSecurity);
  try {
    return await messagesIn(admin, env.config.kafkaTopic);
  } finally {
    await admin.disconnect();
  }
}

/** Whether an activity of that type was scheduled before `from` and its completion recorded after `until`. */
function inFlightAcross(history: HistoryFacts['history'], activityType: string | undefined, from: number, until: number): boolean {
  const events = history.events ?? [];
  const scheduledAt = new Map<string, number>();
  for (const event of events) {
    const time = timestampMs(event.eventTime) ?? 0;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === activityType) scheduledAt.set(String(event.eventId), time);
    const completed = event.activityTaskCompletedEventAttributes;
    const start = completed ? scheduledAt.get(String(completed.scheduledEventId)) : undefined;
    if (start !== undefined && start < from && time > until) return true;
  }
  return false;
}

const SCENARIOS: Scenario[] = [
  { name: 'worker SIGKILLed during load', step: 'load', run: 'slowLoad', workers: 1, fault: killWorker(), retried: 'loadWorkbookPart' },
  { name: 'worker SIGKILLed during publish', step: 'publish', run: 'slowPublishAndClassify', workers: 1, fault: killWorker(), retried: 'publishPurchaseCounts' },
  { name: 'worker SIGKILLed during classify', step: 'classify', run: 'slowPublishAndClassify', workers: 1, fault: killWorker(), retried: 'classifyCustomers' },
  // A crashed server fails the step's activity (kafkajs and mysql2 give up on a dead connection);
  // it is healed only once that failure shows, and the step can only finish once the server is back.
  { name: 'Kafka broker crashed during publish, restarted', step: 'publish', run: 'slowPublishAndClassify', workers: 1, fault: crash('kafka'), retried: 'publishPurchaseCounts' },
  { name: 'Kafka broker crashed during classify, restarted', step: 'classify', run: 'slowPublishAndClassify', workers: 1, fault: crash('kafka'), retried: 'classifyCustomers' },
  { name: 'MySQL crashed during classify, restarted', step: 'classify', run: 'slowPublishAndClassify', workers: 1, fault: crash('mysql'), retried: 'classifyCustomers' },
  {
    // Temporal down fails no activity: the worker keeps publishing (it may even finish while the
    // server is down) and its heartbeats wait for the server. What proves the fault hit the step:
    // publish had work left as the server was stopped, and (for every scenario, below) its
    // activity's completion is recorded only after the server came back.
    name: 'Temporal dev server restarted during publish (SQLite kept)',
    step: 'publish',
    run: 'slowPublishAndClassify',
    workers: 1,
    fault: async ({ env, customers, messagesBefore }) => {
      const published = (await messagesInTopic(env)) - messagesBefore;
      expect(published).toBeLessThan(customers);
      await stackDown(['temporal']);
      return { heal: async () => void (await stackUp(['temporal'])), proof: `${published} of ${customers} messages published as it was stopped` };
    },
  },
  {
    name: 'two workers on the queue, the one classifying SIGKILLed',
    step: 'classify',
    run: 'slowPublishAndClassify',
    workers: 2,
    fault: async ({ handle, workers }) => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const identities = pending.filter((activity) => activity.activityType?.name === 'classifyCustomers').map((activity) => activity.lastWorkerIdentity);
      const victim = workers.find((worker) => identities.some((identity) => identity?.startsWith(`${worker.pid}@`)));
      if (!victim) throw new Error(`no worker of ${workers.map((worker) => worker.pid).join(', ')} runs classify (${identities.join(', ')})`);
      await victim.kill();
      workers.splice(workers.indexOf(victim), 1);
      return { proof: 'retried on the other worker (attempts)' }; // the other worker carries on
    },
    retried: 'classifyCustomers',
  },
];

/**
 * A scenario that failed half way must not hand the next ones its run, its workers or a server it
 * left down: the stack comes up, its run is terminated and its workers are killed (the next
 * scenario starts its own), so that each later scenario's outcome is its own.
 */
async function abandon(handle: WorkflowHandle, workers: WorkerProcess[]): Promise<void> {
  await stackUp();
  await handle.terminate('its fault-table scenario failed').catch(() => undefined); // already closed
  await Promise.all(workers.map((worker) => worker.kill()));
}

beforeAll(async () => {
  await Promise.all(['temporal', 'kafka', 'mysql'].map((name) => requireManagedServer(name as 'temporal')));
  runs.slowLoad = await faultRun('slow-load.xlsx', 60_000, 5_000, { reader: 'exceljs' });
  runs.slowPublishAndClassify = await faultRun('slow-publish-and-classify.xlsx', 20_000, 3_000, { chunkSize: 1, classifyBatchSize: 1 });
});

afterAll(async () => {
  await Promise.all(running.map((worker) => worker.kill()));
  await stackUp(); // whatever happened, leave the stack running for the next test file
  console.log(
    ['| scenario | outcome | time to recover | activity attempts | the fault hit the step |', '| --- | --- | --- | --- | --- |']
      .concat(table.map((row) => `| ${row.scenario} | ${row.outcome} | ${row.recoverySeconds} | ${row.attempts} | ${row.proof} |`))
      .join('\n'),
  );
  for (const run of Object.values(runs)) await run.env.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.each(SCENARIOS)('$name: the fault hits the step, and the run completes with exactly the fault-free result', async (scenario) => {
  const { env, input, generated, table: faultFree, idleWorkers } = runs[scenario.run];
  const workers = idleWorkers.splice(0, scenario.workers);
  while (workers.length < scenario.workers) workers.push(await newWorker(env));
  const messagesBefore = await messagesInTopic(env);
  const handle = await startSegmentation(env.client, env.config, input, 'fault');
  try {
    const { runId } = await untilMidStep(env, handle, scenario.step, generated.customers);

    const faultAt = Date.now();
    const { heal, proof } = await scenario.fault({ env, handle, workers, step: scenario.step, customers: generated.customers, messagesBefore, faultAt });
    const healedAt = Date.now();
    await heal?.();
    const result: SegmentationProgress = await handle.result();
    const recoverySeconds = (Date.now() - healedAt) / 1000;

    expect(result.runId).toBe(runId);
    expect(result.status).toBe('completed');
    expect(result.summary).toMatchObject({
      rowsRead: generated.rowsRead,
      customers: generated.customers,
      low: generated.low,
      high: generated.high,
      messagesPublished: generated.customers,
      customersConsumed: generated.customers,
      rowsWritten: generated.customers,
      published: true,
    });
    expect(await segments(env.db)).toEqual(faultFree);
    expect(await env.db(TABLES.segments).distinct('RunId')).toEqual([{ RunId: runId }]);
    // The fault made the step's activity run again: in the history, its last attempt is not its first.
    const { attempts, history } = await historyFacts(env.client, handle.workflowId);
    if (scenario.retried) expect(attempts[scenario.retried]).toBeGreaterThanOrEqual(2);
    // And the step finished only after the fault was healed.
    expect(new Date(result.steps[scenario.step].finishedAt!).getTime()).toBeGreaterThan(healedAt);
    // An activity of the step was scheduled before the fault and completed after the heal: it was
    // in flight across the fault (one that was done before would have completed before it).
    expect(inFlightAcross(history, STEP_ACTIVITY[scenario.step], faultAt, healedAt)).toBe(true);
    table.push({
      scenario: scenario.name,
      outcome: `completed exactly (${generated.customers} customers)`,
      recoverySeconds: `${recoverySeconds.toFixed(1)} s`,
      attempts: Object.entries(attempts)
        .filter(([, count]) => count > 1)
        .map(([type, count]) => `${type} ${count}`)
        .join(', ') || 'all first attempts',
      proof,
    });
    idleWorkers.push(...workers); // the survivors serve the next scenario
  } catch (error) {
    await abandon(handle, workers);
    throw error;
  }
});
