/**
 * A worker killed with SIGKILL in the middle of loading the full workbook: a new worker picks
 * the run up (the load step resumes from its last heartbeat) and the result is exactly that of
 * a clean run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../lib/config';
import { snapshot } from '../../cli/run-progress';
import { describeWithOnlineRetail, SHARED_DATA_DIR } from '../support/shared-data';
import { historyFacts, segments, startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(600_000);

describeWithOnlineRetail('a worker killed mid-run', () => {
  let env: TestEnvironment;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('worker_crash', { dataDir: SHARED_DATA_DIR });
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await env?.cleanup();
  });

  /** `segment worker` as its own process, so it can die the hard way. */
  function startWorkerProcess(name: string): ChildProcess {
    const log = fs.openSync(path.join(env.config.dataDir === SHARED_DATA_DIR ? PROJECT_ROOT : env.config.dataDir, `.stack/logs/test-${name}.log`), 'w');
    const child = spawn('node', [path.join(PROJECT_ROOT, 'bin', 'segment.js'), 'worker'], { env: env.env, stdio: ['ignore', log, log] });
    workers.push(child);
    return child;
  }

  test('a new worker finishes the run with the exact result', async () => {
    const first = startWorkerProcess('first');
    const handle = await startSegmentation(env.client, env.config, { file: 'online-retail.xlsx' }, 'worker-crash');

    // Wait until the load step has committed a good part of the workbook, then kill the worker.
    let rowsRead = 0;
    while (rowsRead < 100_000) {
      await sleep(250);
      const { progress, bars } = await snapshot(handle);
      if (progress && progress.steps.load.status !== 'running') {
        expect(progress.steps.load.status).toBe('pending');
        continue;
      }
      const load = bars.find((bar) => bar.step === 'load');
      rowsRead = Number(/rowsRead ([\d,]+)/.exec(load?.detail ?? '')?.[1]?.replace(/,/g, '') ?? 0);
    }
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    startWorkerProcess('second');
    const result = await handle.result();

    expect(result.summary).toMatchObject({ rowsRead: 541_909, rowsKept: 397_884, customers: 4_338, low: 3_466, high: 872, rowsWritten: 4_338 });
    const table = await segments(env.db);
    expect(table).toHaveLength(4_338);
    expect(table.find((row) => row.CustomerID === 12748)).toEqual({ CustomerID: 12748, PurchaseCount: 209, FrequencyCategory: 'High Frequency' });
    // The kill really interrupted the load: it took a second attempt.
    expect((await historyFacts(env.client, handle.workflowId)).attempts.loadWorkbookPart).toBeGreaterThanOrEqual(2);
  });
});
