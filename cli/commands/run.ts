/**
 * `segment run --file PATH`: starts a customerSegmentation run (the same thing as "Start
 * Workflow" in the Temporal UI); with --wait it shows a progress bar per step and ends with the
 * result table (or, if a step fails for good, with the failure and how to retry); with --json the
 * last line is one JSON object. --dry-run (in-process, no servers) is dry-run.ts.
 */
import type { SegmentSize } from '../../activities/reconcile-run';
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { rootCause } from '@temporalio/common';
import { loadConfig, type AppConfig } from '../../lib/config';
import { customerSegmentation } from '../../workflows';
import { dataDateOf } from '../../workflows/data-date';
import type { RunMode, SegmentationInput } from '../../workflows/segmentation-input';
import type { RunInvoiceFigures, RunStatus, SegmentationProgress } from '../../workflows/segmentation-progress';
import { inputOfFlags, requireWorkbookFlag, type InputFlagValues } from '../input-flags';
import { groupedDecimal, printTable } from '../print-table';
import { StepProgressBars } from '../progress-bars';
import { barsOf, snapshot } from '../run-progress';
import { connectClient, temporalUiLink } from '../temporal-client';

/** The input flags (cli/input-flags.ts) and the run's own. */
export interface RunOptions extends InputFlagValues {
  file?: string[];
  workflowId?: string;
  wait?: boolean;
  json?: boolean;
  dryRun?: boolean;
}

/** The last line of `--json`: the contract outside tools rely on. */
export interface RunOutcome {
  workflowId: string;
  /** The run's key in MySQL (segmentation_runs.run_id, customer_segments.RunId). */
  runId?: string;
  status: RunStatus | 'started';
  rowsRead?: number;
  rowsKept?: number;
  customers?: number;
  low?: number;
  high?: number;
  purchases?: number;
  messagesPublished?: number;
  customersConsumed?: number;
  rowsWritten?: number;
  published?: boolean;
  /** The newest kept InvoiceDate: orders publication. */
  dataDate?: string | null;
  mode?: RunMode;
  window?: string;
  invoices?: RunInvoiceFigures;
  /** Customers and Monetary per RFM segment (after the run reconciled). */
  segments?: SegmentSize[];
  /** What each audit check saw; with status awaiting-operator and failedStep audit, the run is held. */
  audit?: SegmentationProgress['audit'];
  dataQuality?: unknown;
  files?: SegmentationProgress['files'];
  /** The failed step, while a run waits for an operator or after it failed. */
  failedStep?: string;
  error?: string;
  temporalUi: string;
}

/** Exit codes of `run --wait` and `status`: scripts tell an operator's turn from a failure. */
export const EXIT = { ok: 0, failed: 1, awaitingOperator: 3 } as const;

export async function runCommand(options: RunOptions, config: AppConfig = loadConfig()): Promise<number> {
  // The dry run lives in its own module so that it loads none of the Temporal client.
  if (options.dryRun) return await (require('./dry-run') as typeof import('./dry-run')).dryRunCommand(options, config);
  requireWorkbookFlag(options);
  const input = inputOfFlags(options, config);
  const { client, close } = await connectClient(config);
  try {
    const handle = await startRun(client, config, input, options.workflowId);
    if (!options.wait) {
      const outcome: RunOutcome = { workflowId: handle.workflowId, status: 'started', temporalUi: temporalUiLink(config, handle.workflowId) };
      if (options.json) console.log(JSON.stringify(outcome));
      else console.log(`started ${handle.workflowId}\n${outcome.temporalUi}`);
      return EXIT.ok;
    }
    return exitCode(await watchRun(handle, config, { json: options.json }));
  } finally {
    await close();
  }
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
    staticSummary: input.file || input.files ? `Segment customers of ${input.file ?? input.files!.join(', ')}` : 'Segment customers of the invoice ledger',
  });
}

export function newWorkflowId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `customer-segmentation-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Polls until the run ends or waits for an operator, drawing the bars; prints the result table
 * (or the failure), or JSON with --json.
 */
export async function watchRun(handle: WorkflowHandle, config: AppConfig, options: { json?: boolean } = {}): Promise<RunOutcome> {
  const bars = new StepProgressBars();
  const result = handle.result().then(
    (progress: SegmentationProgress) => ({ progress }),
    (error: unknown) => ({ error }),
  );
  let finished: { progress?: SegmentationProgress; error?: unknown } | undefined;
  while (!finished) {
    try {
      const current = await snapshot(handle);
      bars.update(current.bars);
      if (current.progress?.status === 'awaiting-operator') finished = { progress: current.progress };
    } catch {
      // A poll that fails (server busy) is just skipped.
    }
    finished ??= await Promise.race([result, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500))]);
  }
  if (finished.progress) {
    // The result (or the query that saw the operator's turn) is the final progress: querying a
    // closed run again would have a worker replay its whole history while the CLI waits.
    bars.update(barsOf(finished.progress));
  } else {
    try {
      bars.update((await snapshot(handle)).bars);
    } catch {
      // the final redraw is cosmetic
    }
  }
  bars.stop();
  const outcome = toOutcome(handle.workflowId, config, finished);
  printOutcome(outcome, options.json);
  return outcome;
}

export function toOutcome(workflowId: string, config: AppConfig, finished: { progress?: SegmentationProgress; error?: unknown }): RunOutcome {
  const temporalUi = temporalUiLink(config, workflowId);
  const progress = finished.progress;
  if (progress) {
    const dataDate = dataDateOf(progress);
    const { mode, window } = progress.invoices ?? {};
    const base = { workflowId, runId: progress.runId, status: progress.status, mode, window, files: progress.files, dataDate, invoices: progress.invoices, audit: progress.audit, temporalUi };
    if (progress.summary) {
      const { rowsRead, rowsKept, customers, low, high, purchases, messagesPublished, customersConsumed, rowsWritten, published, segments, dataQuality } =
        progress.summary;
      return { ...base, rowsRead, rowsKept, customers, low, high, purchases, messagesPublished, customersConsumed, rowsWritten, published, segments, dataQuality };
    }
    // Not finished (waiting for an operator): the figures of the steps done so far.
    const { load, aggregate, reconcile } = progress.steps;
    return {
      ...base,
      rowsRead: load.counts?.rowsRead,
      rowsKept: load.counts?.rowsKept,
      customers: aggregate.counts?.customers,
      low: reconcile.counts?.low,
      high: reconcile.counts?.high,
      published: false,
      failedStep: progress.failure?.step,
      error: progress.error,
    };
  }
  const error = finished.error instanceof WorkflowFailedError ? (rootCause(finished.error.cause) ?? finished.error.message) : String(finished.error);
  const cancelled = finished.error instanceof WorkflowFailedError && /cancel/i.test(finished.error.cause?.name ?? '');
  return { workflowId, status: cancelled ? 'cancelled' : 'failed', error, temporalUi };
}

export function exitCode(outcome: RunOutcome): number {
  if (outcome.status === 'completed' || outcome.status === 'superseded') return EXIT.ok;
  return outcome.status === 'awaiting-operator' ? EXIT.awaitingOperator : EXIT.failed;
}

export function printOutcome(outcome: RunOutcome, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(outcome));
    return;
  }
  if (outcome.status === 'completed' || outcome.status === 'superseded') {
    printTable([
      { FrequencyCategory: 'Low Frequency', Customers: outcome.low ?? 0 },
      { FrequencyCategory: 'High Frequency', Customers: outcome.high ?? 0 },
      { FrequencyCategory: 'All customers', Customers: outcome.customers ?? 0 },
    ]);
    if (outcome.segments?.length) {
      console.log('');
      printTable(outcome.segments.map(({ segment, customers, monetary }) => ({ RfmSegment: segment, Customers: customers, Monetary: groupedDecimal(monetary) })));
    }
    console.log(
      `\nrows read ${outcome.rowsRead?.toLocaleString('en-US')}, kept ${outcome.rowsKept?.toLocaleString('en-US')}; ` +
        `${outcome.purchases?.toLocaleString('en-US')} purchases; ` +
        (outcome.published
          ? `${outcome.rowsWritten?.toLocaleString('en-US')} rows published to customer_segments`
          : 'superseded: a run with newer data (or the same data, started later) is published and stays'),
    );
  } else if (outcome.status === 'awaiting-operator' && outcome.failedStep === 'audit') {
    console.log(`held by its audit: nothing was published, customer_segments is unchanged`);
    for (const check of outcome.audit?.checks ?? []) if (check.outcome === 'failed') console.log(`  ✗ ${check.name}: ${check.summary}`);
    console.log(
      `  publish it anyway: npx segment approve ${outcome.workflowId} --reason "..."
` +
        `  audit it again:    npx segment retry ${outcome.workflowId}
  or end it:         npx segment abort ${outcome.workflowId}`,
    );
  } else if (outcome.status === 'awaiting-operator') {
    console.log(`step ${outcome.failedStep} failed; the run waits for an operator: ${outcome.error ?? ''}`);
    console.log(`  retry it:  npx segment retry ${outcome.workflowId}\n  or end it: npx segment abort ${outcome.workflowId}`);
  } else {
    console.log(`run ${outcome.status}: ${outcome.error ?? ''}`);
  }
  console.log(`Temporal UI: ${outcome.temporalUi}`);
}
