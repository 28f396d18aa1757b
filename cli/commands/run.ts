/**
 * `segment run --file PATH`: starts a customerSegmentation run (the same thing as "Start
 * Workflow" in the Temporal UI); with --wait it shows a progress bar per step and ends with the
 * result table; with --json the last line is one JSON object. --dry-run is dry-run.ts.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type AppConfig } from '../../lib/config';
import { relativeToDataDir } from '../../lib/data-dir';
import type { WorkbookReaderKind } from '../../lib/workbook/read-transaction-rows';
import { customerSegmentation } from '../../workflows';
import type { SegmentationInput } from '../../workflows/segmentation-input';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { printTable } from '../print-table';
import { StepProgressBars } from '../progress-bars';
import { snapshot } from '../run-progress';
import { connectClient, temporalUiLink } from '../temporal-client';

export interface RunOptions {
  file: string;
  sheet?: string;
  threshold?: number;
  chunkSize?: number;
  workflowId?: string;
  wait?: boolean;
  json?: boolean;
  dryRun?: boolean;
  /** Which parser reads the workbook: 'fast' (default) or 'exceljs'. */
  reader?: WorkbookReaderKind;
}

/** The last line of `--json`: the contract outside tools rely on. */
export interface RunOutcome {
  workflowId: string;
  status: 'completed' | 'failed' | 'running';
  rowsRead?: number;
  rowsKept?: number;
  customers?: number;
  low?: number;
  high?: number;
  purchases?: number;
  messagesPublished?: number;
  rowsWritten?: number;
  dataQuality?: unknown;
  error?: string;
  temporalUi: string;
}

export async function runCommand(options: RunOptions, config: AppConfig = loadConfig()): Promise<number> {
  // The dry run lives in its own module so that it loads none of the Temporal client.
  if (options.dryRun) return await (require('./dry-run') as typeof import('./dry-run')).dryRunCommand(options, config);
  const input = workflowInput(options, config);
  const { client, close } = await connectClient(config);
  try {
    const handle = await startRun(client, config, input, options.workflowId);
    if (!options.wait) {
      const outcome: RunOutcome = { workflowId: handle.workflowId, status: 'running', temporalUi: temporalUiLink(config, handle.workflowId) };
      if (options.json) console.log(JSON.stringify(outcome));
      else console.log(`started ${handle.workflowId}\n${outcome.temporalUi}`);
      return 0;
    }
    const outcome = await watchRun(handle, config, { json: options.json });
    return outcome.status === 'completed' ? 0 : 1;
  } finally {
    await close();
  }
}

/** The workflow input, plus `reader` (the workbook parser) until SegmentationInput declares it. */
type RunInput = SegmentationInput & { reader?: WorkbookReaderKind };

export function workflowInput(options: RunOptions, config: AppConfig): RunInput {
  const input: RunInput = { file: relativeToDataDir(config.dataDir, options.file) };
  if (options.sheet !== undefined) input.sheet = options.sheet;
  if (options.reader !== undefined) input.reader = options.reader;
  if (options.threshold !== undefined) input.threshold = options.threshold;
  if (options.chunkSize !== undefined) input.chunkSize = options.chunkSize;
  return input;
}

export async function startRun(
  client: Client,
  config: AppConfig,
  input: SegmentationInput,
  workflowId = newWorkflowId(),
): Promise<WorkflowHandle<typeof customerSegmentation>> {
  return await client.workflow.start(customerSegmentation, {
    taskQueue: config.taskQueue,
    workflowId,
    args: [input],
    staticSummary: `Segment customers of ${input.file}`,
  });
}

export function newWorkflowId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `customer-segmentation-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Polls until the run ends, drawing the bars; prints the result table, or JSON with --json. */
export async function watchRun(handle: WorkflowHandle, config: AppConfig, options: { json?: boolean } = {}): Promise<RunOutcome> {
  const bars = new StepProgressBars();
  const result = handle.result().then(
    (progress: SegmentationProgress) => ({ progress }),
    (error: unknown) => ({ error }),
  );
  let finished: { progress?: SegmentationProgress; error?: unknown } | undefined;
  while (!finished) {
    try {
      bars.update((await snapshot(handle)).bars);
    } catch {
      // A poll that fails (server busy) is just skipped.
    }
    finished = await Promise.race([result, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500))]);
  }
  try {
    bars.update((await snapshot(handle)).bars);
  } catch {
    // the final redraw is cosmetic
  }
  bars.stop();
  const outcome = toOutcome(handle.workflowId, config, finished);
  printOutcome(outcome, options.json);
  return outcome;
}

function toOutcome(workflowId: string, config: AppConfig, finished: { progress?: SegmentationProgress; error?: unknown }): RunOutcome {
  const temporalUi = temporalUiLink(config, workflowId);
  if (finished.progress?.summary) {
    const { rowsRead, rowsKept, customers, low, high, purchases, messagesPublished, rowsWritten, dataQuality } = finished.progress.summary;
    return { workflowId, status: 'completed', rowsRead, rowsKept, customers, low, high, purchases, messagesPublished, rowsWritten, dataQuality, temporalUi };
  }
  const error = finished.error instanceof WorkflowFailedError ? failureMessage(finished.error) : String(finished.error);
  return { workflowId, status: 'failed', error, temporalUi };
}

export function failureMessage(error: WorkflowFailedError): string {
  let current: Error | undefined = error.cause;
  while (current?.cause instanceof Error) current = current.cause;
  return current?.message ?? error.message;
}

export function printOutcome(outcome: RunOutcome, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(outcome));
    return;
  }
  if (outcome.status === 'completed') {
    printTable([
      { FrequencyCategory: 'Low Frequency', Customers: outcome.low ?? 0 },
      { FrequencyCategory: 'High Frequency', Customers: outcome.high ?? 0 },
      { FrequencyCategory: 'All customers', Customers: outcome.customers ?? 0 },
    ]);
    console.log(
      `\nrows read ${outcome.rowsRead?.toLocaleString('en-US')}, kept ${outcome.rowsKept?.toLocaleString('en-US')}; ` +
        `${outcome.purchases?.toLocaleString('en-US')} purchases; ${outcome.rowsWritten?.toLocaleString('en-US')} rows in customer_segments`,
    );
  } else {
    console.log(`run ${outcome.status}: ${outcome.error ?? ''}`);
  }
  console.log(`Temporal UI: ${outcome.temporalUi}`);
}
