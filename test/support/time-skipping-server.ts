/**
 * Temporal's time-skipping test server, for the orchestration tests in test/workflow: the real
 * workflow code against stub activities, with hours of timers skipped in milliseconds and no
 * other server. @temporalio/testing would download the server from GitHub; here it is the same
 * server from Maven Central (the Java SDK's `temporal-test-server` and its dependencies, as
 * infra/temporal-test-server/pom.xml names them) in STACK_DIR/tools/temporal-test-server, run by
 * the JDK the Kafka broker needs too. The SDK starts the wrapper script with the port as its argument.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../lib/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { loadStackSettings } from '../../infra/stack/stack-settings';
import { runCommand } from '../../infra/stack/run-command';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';
import { customerSegmentation } from '../../workflows';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import { progressQuery, type RunStatus, type SegmentationProgress } from '../../workflows/segmentation-progress';

export const TEST_SERVER_VERSION = '1.32.1';
const POM = path.join(PROJECT_ROOT, 'infra', 'temporal-test-server', 'pom.xml');

/** The wrapper script's path, fetching the jars first on a machine that has none (about 15 s, once). */
export async function installTimeSkippingServer(): Promise<string> {
  const home = path.join(loadStackSettings().toolsDir, 'temporal-test-server');
  const libs = path.join(home, 'libs');
  const script = path.join(home, 'temporal-test-server');
  if (!fs.existsSync(path.join(libs, `temporal-test-server-${TEST_SERVER_VERSION}.jar`))) {
    // Fetched aside, then renamed: a test file installing at the same time sees all the jars or none.
    const aside = `${libs}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    await runCommand('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${aside}`]);
    fs.rmSync(libs, { recursive: true, force: true });
    fs.renameSync(aside, libs);
  }
  const wrapper = [
    '#!/bin/sh',
    '# Written by test/support/time-skipping-server.ts: the SDK passes the port.',
    // The SDK gives the server 5 s to answer. The JIT's first tier alone and the serial collector
    // halve the JVM's start (about 2 s instead of 3.5-5 s on a busy 2-core machine); a test
    // server needs no more.
    `exec "\${JAVA_HOME:+$JAVA_HOME/bin/}java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '${libs}/*' io.temporal.testserver.TestServer "$@"`,
    '',
  ].join('\n');
  if (!fs.existsSync(script) || fs.readFileSync(script, 'utf8') !== wrapper) {
    const aside = `${script}.${process.pid}.tmp`;
    fs.writeFileSync(aside, wrapper, { mode: 0o755 });
    fs.renameSync(aside, script);
  }
  return script;
}

/** A fresh time-skipping server on a free port, with the run's search attributes; `teardown()` stops it. */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const executable = await installTimeSkippingServer();
  const env = await startWithinTheSdkDeadline(() => TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: executable } } }));
  // The workflow upserts these; a server that does not know them fails every workflow task.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(CUSTOM_SEARCH_ATTRIBUTES.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return env;
}

/**
 * The SDK waits a fixed 5 s for the server to answer, then kills it. A JVM starting while other
 * test files keep both cores busy can miss that once; the next start finds its classes in the
 * page cache. Any other error goes up at once.
 */
async function startWithinTheSdkDeadline<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !/did not start within/.test(String(error))) throw error;
    }
  }
}

/**
 * A worker running the real workflow bundle with the given activities. Heartbeats are not
 * throttled to seconds, so a cancel reaches a stub activity at once.
 */
export async function createTestWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: WorkerOptions['activities'],
  options: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: loadWorkflowBundle(),
    activities,
    maxHeartbeatThrottleInterval: '50ms',
    defaultHeartbeatThrottleInterval: '50ms',
    ...options,
  });
}

/** Until the run's progress query reports `status` (the worker must be running to answer). */
export async function untilStatus(handle: WorkflowHandle, status: RunStatus, timeoutMs = 20_000): Promise<SegmentationProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.status === status) return progress;
    if (Date.now() > deadline) throw new Error(`run ${handle.workflowId} did not reach ${status} in ${timeoutMs} ms; last seen ${progress?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A run the stubs can drive: one activity per fanned-out step, one attempt, an hour's operator wait. */
export const STUBBED_RUN_INPUT: SegmentationInput = { file: 'orders.xlsx', publishActivities: 1, classifyActivities: 1, maxAttempts: 1, operatorWait: '1h' };

/** Starts the workflow on its own task queue (one per test, so no test's worker takes another's tasks). */
/** One time-skipping server for a test file: started before its tests, torn down after them (`server.env`). */
export function timeSkippingServerPerFile(): { readonly env: TestWorkflowEnvironment } {
  const server = {} as { env: TestWorkflowEnvironment };
  beforeAll(async () => {
    server.env = await createTimeSkippingEnvironment();
  });
  afterAll(async () => {
    await server.env?.teardown();
  });
  return server;
}

export function startStubbedRun(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  input: SegmentationInput = STUBBED_RUN_INPUT,
): Promise<WorkflowHandle<typeof customerSegmentation>> {
  return env.client.workflow.start(customerSegmentation, { taskQueue, workflowId: `${taskQueue}-run`, args: [input] });
}

export function newTaskQueue(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}
