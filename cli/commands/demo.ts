/**
 * `segment demo` (the README's first command, `npm start`): the whole job on a fresh machine.
 * Brings the stack up (installing what is missing), migrates the schema, generates a workbook unless one is given,
 * runs a worker in this process (serving metrics at METRICS_ADDRESS if it is free), runs the workflow with progress bars, prints the result table
 * and the Temporal UI link.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stackUp } from '../../infra/stack/stack';
import { loadConfig } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { createSegmentationWorker } from '../../workers/segmentation-worker';
import { oneLineLogger } from '../../workers/worker-log';
import { installWorkerRuntime, MetricsAddressError } from '../../workers/worker-runtime';
import { connectClient, temporalUiLink } from '../temporal-client';
import { inputOfFlags } from '../input-flags';
import { exitCode, startRun, watchRun } from './run';

export const DEMO_WORKBOOK = 'generated-online-retail.xlsx';

export async function demoCommand(options: { file?: string; rows: number; json?: boolean }): Promise<number> {
  const config = loadConfig();
  const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);

  say('Bringing up Temporal, Kafka and MySQL (first time: installs them)...');
  await stackUp([], say);
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());

  let file = options.file;
  if (!file) {
    file = path.join(config.dataDir, DEMO_WORKBOOK);
    if (!fs.existsSync(file)) {
      say(`Generating a ${options.rows.toLocaleString('en-US')}-row workbook at ${file}...`);
      fs.mkdirSync(config.dataDir, { recursive: true });
      await generateWorkbook({ outPath: file, rows: options.rows });
    }
  }

  // The demo's own output is the progress bars; the worker only speaks up about problems. Its
  // worker serves metrics as `segment worker` does; with METRICS_ADDRESS taken (a worker or a
  // second demo on this machine), the demo still runs, without them.
  const logger = oneLineLogger('WARN');
  try {
    installWorkerRuntime(config, { logger });
    if (config.metricsAddress !== null) say(`Metrics at http://${config.metricsAddress}/metrics`);
  } catch (error) {
    if (!(error instanceof MetricsAddressError)) throw error;
    say(`${error.message}; the demo runs without metrics`);
    installWorkerRuntime({ metricsAddress: null }, { logger });
  }
  const { worker, run } = await createSegmentationWorker(config);
  const { client, close } = await connectClient(config);
  try {
    const handle = await startRun(client, config, inputOfFlags({ file: [file] }, config));
    say(`Run ${handle.workflowId} started; watch it at ${temporalUiLink(config, handle.workflowId)}`);
    const outcome = await worker.runUntil(watchRun(handle, config, { json: options.json }));
    if (outcome.status === 'awaiting-operator') {
      // The run waits (durably, in Temporal); this process and its worker do not.
      say(
        outcome.failedStep === 'audit'
          ? `The run is held by its audit: customer_segments still holds the run published before (for example a larger workbook's).`
          : `The run waits for an operator after step ${outcome.failedStep} failed.`,
      );
      say('The demo stops here and its worker with it: start one with `npx segment worker`, then decide with the commands above.');
    }
    return exitCode(outcome);
  } finally {
    await close();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await run().catch(() => undefined);
  }
}
