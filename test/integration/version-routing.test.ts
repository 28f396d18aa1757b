/**
 * A versioned worker says how its Worker Deployment routes new runs (workers/version-routing.ts).
 * Two `segment worker` processes of a deployment of this file's own, on the real dev server:
 * build A starts while no version is current and warns, naming the command that makes it
 * current; once A is current, build B starts and says it takes only the runs pinned to it.
 * Before, both only said "worker polling" while a new run waited, unstarted, for ever.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'version-routing-'));
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'version-routing-logs-'));
const deploymentName = `test-routing-${randomBytes(3).toString('hex')}`;
let env: TestEnvironment;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  env = await createTestEnvironment('routing', { dataDir });
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.kill()));
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(logDir, { recursive: true, force: true });
});

async function startBuild(buildId: string): Promise<WorkerProcess> {
  const worker = startWorkerProcess({ ...env.env, TEMPORAL_DEPLOYMENT_NAME: deploymentName, TEMPORAL_WORKER_BUILD_ID: buildId }, path.join(logDir, `${buildId}.log`));
  workers.push(worker);
  await untilPolling(worker, 90_000);
  return worker;
}

async function untilLogged(worker: WorkerProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = worker.output().split('\n').find((each) => pattern.test(each));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${worker.output()}`);
    await sleep(200);
  }
}

test('a versioned worker warns while no version is current, naming the command; a build that is not current says it takes only its pinned runs', async () => {
  const a = await startBuild('build-a');
  const warning = await untilLogged(a, /no version is current/);
  expect(warning).toMatch(/\[WARN\]/);
  expect(warning).toContain(`temporal worker deployment set-current-version --deployment-name ${deploymentName} --build-id build-a`);

  // What `temporal worker deployment set-current-version` does; refused until the server has seen the version poll.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await env.client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: env.config.temporalNamespace, deploymentName, buildId: 'build-a', identity: 'version-routing.test' });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }

  const b = await startBuild('build-b');
  const line = await untilLogged(b, /Worker Deployment/);
  expect(line).toMatch(/\[INFO\]/);
  expect(line).toContain(`Worker Deployment "${deploymentName}": build build-a is current; this build (build-b) takes only the runs pinned to it, no new ones`);
});
