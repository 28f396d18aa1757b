/**
 * Upgrading the workers never breaks a waiting run (docs/upgrading.md): with Worker Versioning a
 * run is pinned to the build it started on. Two `segment worker` processes of one Worker
 * Deployment of this test's own, builds A and B, on the real dev server: a run waits for an
 * operator on A; B starts and is made current; the waiting run still belongs to A, and after the
 * file arrives and `segment retry`, every workflow task and every activity of it ran on A's
 * process (the history's deployment versions and worker identities say so, not the timing),
 * while a run started after the switch runs on B alone.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { CONTRACT_HEADER, WORKFLOW_CONTRACT_VERSION } from '../../lib/workflow-contract';
import { progressQuery, type SegmentationProgress } from '../../workflows/segmentation-progress';
import { historyFacts, startSegmentation } from '../support/run-workflow';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-versioning-'));
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-versioning-logs-'));
/** A deployment of this file's own (no dot: Temporal joins name and build id with one). */
const deploymentName = `test-versioning-${randomBytes(3).toString('hex')}`;
let env: TestEnvironment;
let expected: GeneratedWorkbook;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  env = await createTestEnvironment('versioning', { dataDir });
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'source.xlsx'), rows: 3_000, customers: 300, seed: 17 });
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.kill()));
  // The deployment stays on the dev server: Temporal refuses to delete a version for minutes after
  // its pollers stopped. Its name is this run's own, so no later run meets it.
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(logDir, { recursive: true, force: true });
});

/** `segment worker` as version BUILD of this file's deployment, polling. */
async function startBuild(buildId: string): Promise<WorkerProcess> {
  const worker = startWorkerProcess({ ...env.env, TEMPORAL_DEPLOYMENT_NAME: deploymentName, TEMPORAL_WORKER_BUILD_ID: buildId }, path.join(logDir, `${buildId}.log`));
  workers.push(worker);
  await untilPolling(worker, 90_000);
  expect(worker.output()).toContain(`(version ${deploymentName}.${buildId})`);
  return worker;
}

/**
 * What `temporal worker deployment set-current-version --deployment-name D --build-id B` does.
 * A version the server has not yet seen polling is refused: asked again until it is known.
 */
async function makeCurrent(buildId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await env.client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: env.config.temporalNamespace, deploymentName, buildId, identity: 'worker-versioning.test' });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
  const { workerDeploymentInfo } = await env.client.workflowService.describeWorkerDeployment({ namespace: env.config.temporalNamespace, deploymentName });
  expect(workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId).toBe(buildId);
}

/** The version the server says a run is pinned to ("PINNED build-a"). */
async function pinnedTo(handle: WorkflowHandle): Promise<string> {
  const { raw } = await handle.describe();
  const versioning = raw.workflowExecutionInfo?.versioningInfo;
  const behavior = versioning?.behavior === temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED ? 'PINNED' : String(versioning?.behavior);
  return `${behavior} ${versioning?.deploymentVersion?.deploymentName === deploymentName ? versioning.deploymentVersion.buildId : '?'}`;
}

async function untilAwaitingOperator(handle: WorkflowHandle): Promise<SegmentationProgress> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.status === 'awaiting-operator') return progress;
    if (Date.now() > deadline) throw new Error(`run ${handle.workflowId} is not awaiting an operator; last seen ${progress?.status}`);
    await sleep(200);
  }
}

interface WhoRanIt {
  /** Build ids of the versions that completed the run's workflow tasks. */
  workflowTaskVersions: Set<string>;
  /** Worker identities that started its activity tasks. */
  activityWorkers: Set<string>;
  /** The activity types started after the operator's decision was accepted. */
  activitiesAfterDecision: string[];
  /** The contract versions the workflow stamped on its activity calls (workflows/contract-header-interceptor.ts). */
  contracts: Set<unknown>;
}

/** Who ran the run, from its history. */
async function whoRanIt(workflowId: string): Promise<WhoRanIt> {
  const { history } = await historyFacts(env.client, workflowId);
  const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
  const types = new Map<string, string>();
  const facts: WhoRanIt = { workflowTaskVersions: new Set(), activityWorkers: new Set(), activitiesAfterDecision: [], contracts: new Set() };
  let decided = false;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      types.set(String(event.eventId), scheduled.activityType?.name ?? '?');
      const stamp = scheduled.header?.fields?.[CONTRACT_HEADER];
      facts.contracts.add(stamp ? defaultPayloadConverter.fromPayload(stamp) : 'none');
    }
    const completed = event.workflowTaskCompletedEventAttributes;
    if (completed) facts.workflowTaskVersions.add(completed.deploymentVersion?.deploymentName === deploymentName ? completed.deploymentVersion.buildId ?? '?' : 'unversioned');
    if (event.workflowExecutionUpdateAcceptedEventAttributes) decided = true;
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      facts.activityWorkers.add(started.identity ?? '?');
      if (decided) facts.activitiesAfterDecision.push(types.get(String(started.scheduledEventId)) ?? '?');
    }
  }
  return facts;
}

/** The identity a build's worker process reports: its pid, and its version (workers/segmentation-worker.ts). */
const identityOf = (worker: WorkerProcess, buildId: string) => `${worker.pid}@${os.hostname()} ${deploymentName}.${buildId}`;

test('a run waiting for an operator on build A survives the switch to build B and finishes on A after `retry`; a new run goes to B', async () => {
  const a = await startBuild('build-a');
  await makeCurrent('build-a');

  // The file is not there yet: load fails for good and the run waits for an operator, on A.
  const waiting = await startSegmentation(env.client, env.config, { file: 'arrives-late.xlsx' }, 'pinned');
  const progress = await untilAwaitingOperator(waiting);
  expect(progress.failure).toMatchObject({ step: 'load', type: 'InvalidWorkbookError' });
  expect(await pinnedTo(waiting)).toBe('PINNED build-a');

  const b = await startBuild('build-b');
  await makeCurrent('build-b');
  // B is current, and the waiting run still belongs to A.
  expect(await pinnedTo(waiting)).toBe('PINNED build-a');

  fs.copyFileSync(path.join(dataDir, 'source.xlsx'), path.join(dataDir, 'arrives-late.xlsx'));
  const { lastJson } = await segment(['retry', waiting.workflowId, '--reason', 'file delivered', '--wait', '--json'], env.env);
  expect(lastJson).toMatchObject({ status: 'completed', customers: expected.customers, low: expected.low, high: expected.high });

  const resumed = await whoRanIt(waiting.workflowId);
  // Every workflow task, before and after the switch, was completed by version A...
  expect([...resumed.workflowTaskVersions]).toEqual(['build-a']);
  // ...and every activity, the retried load and all the steps after it, by A's process.
  expect([...resumed.activityWorkers]).toEqual([identityOf(a, 'build-a')]);
  // The workflow stamped its contract on every activity call, which A's activities checked.
  expect([...resumed.contracts]).toEqual([WORKFLOW_CONTRACT_VERSION]);
  expect(resumed.activitiesAfterDecision).toEqual(expect.arrayContaining(['planLoad', 'loadWorkbookPart', 'publishPurchaseCounts', 'classifyCustomers', 'reconcileRun', 'publishSegments']));

  // A run started now goes to the current version, B, and only B.
  const fresh = await startSegmentation(env.client, env.config, { file: 'source.xlsx' }, 'current');
  const result: SegmentationProgress = await fresh.result();
  expect(result).toMatchObject({ status: 'completed' });
  expect(await pinnedTo(fresh)).toBe('PINNED build-b');
  const ranOnB = await whoRanIt(fresh.workflowId);
  expect([...ranOnB.workflowTaskVersions]).toEqual(['build-b']);
  expect([...ranOnB.activityWorkers]).toEqual([identityOf(b, 'build-b')]);
});
