/**
 * Stale (zombie) attempts are fenced (DESIGN 3d). For each window where an attempt deletes or
 * replaces a run's rows, the first attempt is held exactly there and cut off from Temporal (its
 * heartbeats stop reaching the server, as for a worker partitioned away or paused), so after the
 * 15s heartbeat timeout Temporal hands the step to a newer attempt. Once that one has finished and
 * the run has moved on, the zombie is released just before the next step, and that step waits
 * for the zombie to end. The run must still end exact: customer_segments and the run's history
 * equal a clean run's, the consumer positions say each message was consumed once, and
 * `segment report` agrees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { SegmentationActivities } from '../../activities';
import type { StepAttempt } from '../../activities/step-attempt-fence';
import { TABLES } from '../../lib/tables';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { operatorDecisionUpdate } from '../../workflows/operator-decision';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { segments, startSegmentation, type SegmentRow } from '../support/run-workflow';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(240_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stale-attempts-'));
/** Small batches and chunks: several of each, so a zombie holds one of many. */
const INPUT: Omit<SegmentationInput, 'file'> = { chunkSize: 100, classifyBatchSize: 50 };
type ActivityName = keyof SegmentationActivities;

let env: TestEnvironment;
let expected: GeneratedWorkbook;
let clean: { workflowId: string; segments: SegmentRow[]; history: SegmentRow[]; report: any };

/**
 * The zombie of one scenario: the first attempt that reaches a fenced write of `step` is held
 * there, its heartbeats dropped from then on; `releaseBefore`, when it starts, releases it and
 * waits for it to end before doing its own work.
 */
interface Zombie {
  step: StepAttempt['step'];
  releaseBefore: ActivityName;
  held?: StepAttempt;
  reached: Promise<StepAttempt>;
  onReached(attempt: StepAttempt): void;
  release(): void;
  released: Promise<void>;
}
let zombie: Zombie | undefined;
/** Attempts whose heartbeats no longer reach Temporal. */
const cutOff = new Set<string>();
/** Each attempt's own outcome, by attempt: the zombie's says whether it was fenced. */
const outcomes = new Map<string, Promise<{ result?: unknown; error?: string }>>();
const attemptKey = (runId: string, activityId: string, attempt: number) => `${runId}/${activityId}/${attempt}`;
const zombieOutcome = (target: Zombie) => outcomes.get(attemptKey(target.held!.runId, target.held!.activityId, target.held!.attempt));

function expectZombie(step: Zombie['step'], releaseBefore: ActivityName): Zombie {
  let onReached!: (attempt: StepAttempt) => void;
  let release!: () => void;
  const reached = new Promise<StepAttempt>((resolve) => (onReached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  zombie = { step, releaseBefore, reached, onReached, release, released };
  return zombie;
}

const testHooks = {
  async beforeFencedWrite(attempt: StepAttempt) {
    const target = zombie;
    if (!target || target.held || attempt.step !== target.step || attempt.attempt !== 1) return;
    target.held = attempt;
    // Cut off from Temporal from here on: the server stops hearing from this attempt.
    cutOff.add(attemptKey(attempt.runId, attempt.activityId, attempt.attempt));
    target.onReached(attempt);
    await target.released;
  },
};

function decorate(activities: SegmentationActivities): SegmentationActivities {
  const decorated: Record<string, (...args: any[]) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities) as Array<[ActivityName, (...args: any[]) => Promise<unknown>]>) {
    decorated[name] = async (...args: any[]) => {
      const context = Context.current();
      const key = attemptKey(context.info.workflowExecution?.runId ?? '', context.info.activityId, context.info.attempt);
      const send = context.heartbeat;
      (context as { heartbeat: (details?: unknown) => void }).heartbeat = (details) => {
        if (!cutOff.has(key)) send(details);
      };
      const target = zombie;
      if (target?.held && name === target.releaseBefore) {
        target.release();
        // A fenced zombie ends at once; an unfenced one may go on a while (bounded, so a failure shows).
        await Promise.race([zombieOutcome(target), sleep(60_000)]);
      }
      const outcome = activity(...args);
      outcomes.set(
        key,
        outcome.then(
          (result) => ({ result }),
          (error: Error) => ({ error: `${error.name}: ${error.message}` }),
        ),
      );
      return await outcome;
    };
  }
  return decorated as unknown as SegmentationActivities;
}

beforeAll(async () => {
  env = await createTestEnvironment('stale', { dataDir });
  // Two workers: the held zombie keeps its slot, as a frozen process would.
  await env.startWorker(decorate, testHooks);
  await env.startWorker(decorate, testHooks);
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'source.xlsx'), rows: 3_000, customers: 400, seed: 53 });
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', ...INPUT }, 'clean');
  await untilCompleted(handle);
  clean = {
    workflowId: handle.workflowId,
    segments: await segments(env.db),
    history: await history((await handle.result()).runId),
    report: (await segment(['report', handle.workflowId, '--json'], env.env)).lastJson,
  };
  expect(clean.segments).toHaveLength(expected.customers);
});

afterEach(() => {
  zombie?.release();
  zombie = undefined;
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function progressOf(handle: WorkflowHandle): Promise<SegmentationProgress | undefined> {
  return await handle.query(progressQuery).catch(() => undefined);
}

/** Until the run completes; a run that waits for an operator instead fails the test with its error. */
async function untilCompleted(handle: WorkflowHandle): Promise<SegmentationProgress> {
  for (;;) {
    const progress = await progressOf(handle);
    if (progress?.status === 'completed') return await handle.result();
    if (progress && ['awaiting-operator', 'failed', 'superseded'].includes(progress.status)) {
      throw new Error(`the run ended ${progress.status}: ${progress.error ?? ''}`);
    }
    await sleep(200);
  }
}

async function untilAwaitingOperator(handle: WorkflowHandle): Promise<SegmentationProgress> {
  for (;;) {
    const progress = await progressOf(handle);
    if (progress?.status === 'awaiting-operator') return progress;
    await sleep(200);
  }
}

async function history(runId: string): Promise<SegmentRow[]> {
  return await env.db(TABLES.segmentHistory).where({ RunId: runId }).orderBy('CustomerID').select('CustomerID', 'PurchaseCount', 'FrequencyCategory');
}

/** What a clean run leaves, checked on the run the zombie tried to spoil. */
async function expectExact(handle: WorkflowHandle, target: Zombie): Promise<void> {
  const result = await untilCompleted(handle);
  expect(target.held).toBeDefined();

  expect(result.summary).toMatchObject({ customers: expected.customers, low: expected.low, high: expected.high, rowsWritten: expected.customers });
  expect(await segments(env.db)).toEqual(clean.segments);
  expect(await history(result.runId)).toEqual(clean.history);
  // Each published message consumed exactly once, and each partition's position at its range's end.
  const offsets: Array<{ partition: number; next_offset: string | number; messages_consumed: string | number }> = await env
    .db(TABLES.consumerOffsets)
    .where({ run_id: result.runId })
    .select('partition', 'next_offset', 'messages_consumed');
  expect(offsets.reduce((sum, row) => sum + Number(row.messages_consumed), 0)).toBe(expected.customers);
  for (const range of result.publishedOffsets ?? []) {
    const row = offsets.find((offset) => offset.partition === range.partition);
    if (row) expect(String(row.next_offset)).toBe(range.toOffset);
  }

  const { lastJson: report } = await segment(['report', '--json'], env.env);
  expect(report.run).toMatchObject({ workflowId: handle.workflowId, status: 'completed' });
  expect(report.published).toBe(true);
  for (const field of ['categories', 'histogram']) expect(report[field]).toEqual(clean.report[field]);
  const withoutFileNames = (dataQuality: any) => ({ ...dataQuality, sheetsRead: dataQuality.sheetsRead.map(({ file, ...sheet }: any) => sheet) });
  expect(withoutFileNames(report.dataQuality)).toEqual(withoutFileNames(clean.report.dataQuality));
  expect(report.changes).toEqual({ lowToHigh: 0, highToLow: 0, newCustomers: 0, goneCustomers: 0 });
  // The zombie was superseded and said so, having written nothing.
  expect(await zombieOutcome(target)).toEqual({ error: expect.stringMatching(/^StaleAttemptError: .*superseded/) });
}

test("plan-load's staging delete: a zombie plan released after the newer one loaded deletes nothing", async () => {
  const target = expectZombie('plan', 'aggregatePurchases');
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', ...INPUT }, 'stale-plan');
  await target.reached;
  await expectExact(handle, target);
});

test("load's staging inserts: a zombie holding pairs of a file since replaced stages none of them", async () => {
  const file = path.join(dataDir, 'replaced.xlsx');
  await generateWorkbook({ outPath: file, rows: 3_000, customers: 400, seed: 54 });
  const target = expectZombie('load', 'aggregatePurchases');
  const handle = await startSegmentation(env.client, env.config, { file: 'replaced.xlsx', ...INPUT }, 'stale-load');
  await target.reached;
  // The export is replaced (atomically, as a delivery would) while the zombie holds the old one's pairs.
  fs.copyFileSync(path.join(dataDir, 'source.xlsx'), `${file}.tmp`);
  fs.renameSync(`${file}.tmp`, file);
  // The newer attempt sees the change and stops; the operator's retry loads the new file.
  const waiting = await untilAwaitingOperator(handle);
  expect(waiting.failure).toMatchObject({ step: 'load', type: 'WorkbookChangedError' });
  await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', reason: 'export replaced' }] });
  await expectExact(handle, target);
});

test("publish's restart delete: a zombie first attempt released after classify deletes neither history nor positions", async () => {
  const target = expectZombie('publish', 'reconcileRun');
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', ...INPUT }, 'stale-publish');
  await target.reached;
  await expectExact(handle, target);
});

test("classify's batch commit: a zombie holding a batch commits neither its rows nor an old position", async () => {
  const target = expectZombie('classify', 'reconcileRun');
  const handle = await startSegmentation(env.client, env.config, { file: 'source.xlsx', ...INPUT }, 'stale-classify');
  await target.reached;
  await expectExact(handle, target);
});
