/**
 * A worker refuses an activity call from workflow code it does not know (lib/workflow-contract.ts):
 * a probe workflow, on a task queue of its own, calls the real worker's recordRunStarted with the
 * contract header the test chooses. A contract newer than the worker's, or a header that is no
 * version, fails at the first attempt with UnknownContractVersionError, non-retryable although the
 * caller's retry policy would try three times, and writes nothing; this code's own contract and a
 * call without the header (workflow code from before it) run.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { RunStartedInput } from '../../activities/record-run';
import { temporalConnectionOptions } from '../../lib/config';
import { TABLES } from '../../lib/tables';
import { WORKFLOW_CONTRACT_VERSION } from '../../lib/workflow-contract';
import type { ResolvedInput } from '../../workflows/segmentation-input';
import { contractProbe, type ProbeOutcome } from '../support/contract-probe-workflow';
import { historyFacts } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'activity-contract-'));
let env: TestEnvironment;
let probeConnection: NativeConnection;
let probeWorker: Worker;
let probeRunning: Promise<void>;
const probeQueue = () => `${env.config.taskQueue}-probe`;

beforeAll(async () => {
  env = await createTestEnvironment('contract', { dataDir });
  // The real worker: its activities behind the contract check, as `segment worker` runs them.
  await env.startWorker();
  probeConnection = await NativeConnection.connect(temporalConnectionOptions(env.config));
  probeWorker = await Worker.create({
    connection: probeConnection,
    namespace: env.config.temporalNamespace,
    taskQueue: probeQueue(),
    workflowsPath: require.resolve('../support/contract-probe-workflow'),
    interceptors: { workflowModules: [require.resolve('../support/contract-probe-interceptor')] },
  });
  probeRunning = probeWorker.run();
});

afterAll(async () => {
  if (probeWorker?.getState() === 'RUNNING') probeWorker.shutdown();
  await probeRunning;
  await probeConnection?.close();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Calls recordRunStarted for a run of its own, stamped with `stamp` (or no header); returns what happened and its row. */
async function probe(stamp: { stamp: unknown } | Record<string, never>) {
  const runId = `probe-${randomBytes(4).toString('hex')}`;
  const call: RunStartedInput = {
    runId,
    workflowId: runId,
    startedAt: new Date().toISOString(),
    input: { files: ['probe.xlsx'], sheet: null, threshold: 5, chunkSize: 1000, mode: 'snapshot', window: 'all' } as unknown as ResolvedInput,
  };
  const handle = await env.client.workflow.start(contractProbe, { taskQueue: probeQueue(), workflowId: runId, args: [env.config.taskQueue, call], memo: stamp });
  const outcome: ProbeOutcome = await handle.result();
  const { attempts } = await historyFacts(env.client, runId);
  const row = await env.db(TABLES.runs).where({ run_id: runId }).first('status');
  return { outcome, attempts: attempts.recordRunStarted, row };
}

test('a call from workflow code of a newer contract is refused at the first attempt, non-retryable, and writes nothing', async () => {
  const newer = WORKFLOW_CONTRACT_VERSION + 1;
  const { outcome, attempts, row } = await probe({ stamp: newer });
  expect(outcome).toMatchObject({ outcome: 'refused', type: 'UnknownContractVersionError', nonRetryable: true });
  const { message } = outcome as Extract<ProbeOutcome, { outcome: 'refused' }>;
  expect(message).toContain('activity recordRunStarted refused');
  expect(message).toContain(`contract ${newer}, newer than this worker's ${WORKFLOW_CONTRACT_VERSION}`);
  expect(attempts).toBe(1);
  expect(row).toBeUndefined();
});

test('a header that is no version is refused the same way', async () => {
  const { outcome, attempts, row } = await probe({ stamp: 'v2' });
  expect(outcome).toMatchObject({ outcome: 'refused', type: 'UnknownContractVersionError', nonRetryable: true });
  expect((outcome as Extract<ProbeOutcome, { outcome: 'refused' }>).message).toContain('"v2" is not a whole number');
  expect(attempts).toBe(1);
  expect(row).toBeUndefined();
});

test("this code's own contract runs", async () => {
  const { outcome, row } = await probe({ stamp: WORKFLOW_CONTRACT_VERSION });
  expect(outcome).toEqual({ outcome: 'ran' });
  expect(row).toEqual({ status: 'running' });
});

test('a call without the header (workflow code from before it: contract 1) runs', async () => {
  const { outcome, row } = await probe({});
  expect(outcome).toEqual({ outcome: 'ran' });
  expect(row).toEqual({ status: 'running' });
});
