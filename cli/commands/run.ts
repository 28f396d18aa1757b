/**
 * `segment run --file PATH`: starts a customerSegmentation run (the same thing as "Start
 * Workflow" in the Temporal UI); with --wait it shows a progress bar per step and ends with the
 * result table; with --json the last line is one JSON object; with --dry-run it only previews
 * load, clean and aggregate in-process, without Temporal, Kafka or MySQL.
 */
import { randomBytes } from 'node:crypto';
import cliProgress from 'cli-progress';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type AppConfig } from '../../lib/config';
import { relativeToDataDir, resolveWorkbookPath } from '../../lib/data-dir';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
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
  const input = workflowInput(options, config);
  if (options.dryRun) return await dryRun(input, options, config);
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

async function dryRun(input: RunInput, options: RunOptions, config: AppConfig): Promise<number> {
  const workbook = resolveWorkbookPath(config.dataDir, input.file);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: ' Reading {file} |{bar}| {percentage}%', hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(1, 0, { file: workbook.displayName });
  const preview = await previewWorkbook({
    filePath: workbook.absolutePath,
    displayName: workbook.displayName,
    sheet: input.sheet,
    reader: input.reader,
    threshold: input.threshold,
    onBytesRead: (bytesRead, totalBytes) => {
      bar?.setTotal(totalBytes);
      bar?.update(bytesRead);
    },
  }).finally(() => bar?.stop());
  const outcome = {
    workflowId: null,
    status: 'dry-run',
    rowsRead: preview.report.rowsRead,
    rowsKept: preview.report.rowsKept,
    customers: preview.customers,
    low: preview.low,
    high: preview.high,
    purchases: preview.purchases,
    dataQuality: preview.report,
    topCustomers: preview.topCustomers,
    sheets: preview.sheets,
    skippedSheets: preview.skippedSheets,
  };
  if (options.json) {
    console.log(JSON.stringify(outcome));
  } else {
    printTable(Object.entries(preview.report.rowsDropped).map(([reason, rows]) => ({ dropped: reason, rows })));
    console.log('');
    printTable([
      { FrequencyCategory: 'Low Frequency', Customers: preview.low },
      { FrequencyCategory: 'High Frequency', Customers: preview.high },
      { FrequencyCategory: 'All customers', Customers: preview.customers },
    ]);
    for (const { sheet, reason } of preview.skippedSheets ?? []) console.log(`skipped sheet "${sheet}": ${reason}`);
    console.log(
      `\nrows read ${preview.report.rowsRead.toLocaleString('en-US')}, kept ${preview.report.rowsKept.toLocaleString('en-US')}` +
        ` from ${(preview.sheets ?? []).map((sheet) => `"${sheet}"`).join(', ')} (dry run: nothing written)`,
    );
  }
  return 0;
}
