/**
 * `segment worker` starts fast: from the process being spawned to the worker polling and taking
 * its first workflow task in well under two seconds, with the workflow bundle already built (by
 * `npm run build`, as on a deployed machine). It stops promptly on SIGTERM.
 *
 * Measured here (2 cores shared with other engineers' test runs): 0.65 to 0.75 s on a quiet
 * machine, 0.9 to 1.2 s with a neighbour using a whole core. Most of it is loading modules
 * (@temporalio/worker 0.23 s of CPU, exceljs 0.1 s, kafkajs, knex and mysql2 0.07 s) and
 * Worker.create (0.2 s: the SDK evaluates the bundle and starts its workflow thread). The
 * assertion takes the fastest of five warm starts: neighbours only ever add time, so the
 * fastest start is the closest to the worker's own cost. Building the bundle at start (as
 * before) adds 0.5 s or more to every start, which this catches.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../lib/config';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';
import { startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(60_000);

/**
 * On 2026-12-01 the code from before that day's changes started in 1.1 to 1.2 s on this machine,
 * quiet (its own figure had been 0.65 to 0.75 s): the machine, not the code, had slowed. 1.5 s
 * still catches a bundle built at start (0.5 s or more on top).
 */
const LIMIT_MS = 1_500;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-start-'));
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment('worker_start', { dataDir });
  loadWorkflowBundle(); // the bundle the global set-up's build made; fails at once if there is none
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface WorkerStart {
  /** Spawn to the worker's "polling" line. */
  pollingMs: number;
  /** Spawn to the server handing it the first workflow task (the task was waiting already). */
  firstTaskMs: number;
  /** SIGTERM to exit. */
  stopMs: number;
  exitCode: number | null;
}

/** Starts a run with no worker around, then a `segment worker` process, and times it. */
async function timeWorkerStart(): Promise<WorkerStart> {
  const handle = await startSegmentation(env.client, env.config, { file: 'not-needed.xlsx' }, 'worker-start');
  const spawnedAt = Date.now();
  const worker = spawn('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), 'worker'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
  try {
    const pollingAt = await new Promise<number>((resolve, reject) => {
      worker.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('worker polling')) resolve(Date.now());
      });
      worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      void exited.then((code) => reject(new Error(`worker exited (${code}) before polling:\n${output}`)));
    });

    let firstTaskAt: number | undefined;
    while (firstTaskAt === undefined) {
      const { events } = await handle.fetchHistory();
      const started = events?.find((event) => event.workflowTaskStartedEventAttributes);
      if (started) firstTaskAt = Number(started.eventTime!.seconds) * 1000 + Math.floor((started.eventTime!.nanos ?? 0) / 1e6);
      else await sleep(20);
    }
    await handle.terminate('worker start measured');

    const stoppingAt = Date.now();
    worker.kill('SIGTERM');
    const exitCode = await exited;
    return { pollingMs: pollingAt - spawnedAt, firstTaskMs: firstTaskAt - spawnedAt, stopMs: Date.now() - stoppingAt, exitCode };
  } finally {
    worker.kill('SIGKILL');
  }
}

test('`segment worker` polls and takes its first task within a second of being spawned, and stops on SIGTERM', async () => {
  await timeWorkerStart(); // warms the OS file cache, as on a deployed machine
  const starts: WorkerStart[] = [];
  for (let round = 0; round < 5; round += 1) starts.push(await timeWorkerStart());
  process.stderr.write(`  [worker-start] ${starts.map((s) => `polling ${s.pollingMs} ms, first task ${s.firstTaskMs} ms, stop ${s.stopMs} ms`).join('; ')}\n`);

  expect(Math.min(...starts.map((start) => start.firstTaskMs))).toBeLessThan(LIMIT_MS);
  for (const start of starts) {
    expect(start.pollingMs).toBeLessThanOrEqual(start.firstTaskMs + 50); // polling comes first (clocks agree to a few ms)
    expect(start.exitCode).toBe(0);
    expect(start.stopMs).toBeLessThan(5_000);
  }
});
