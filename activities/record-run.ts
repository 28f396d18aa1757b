/**
 * The run's row in `segmentation_runs`: what a data engineer reads in MySQL after the fact. The
 * workflow owns the run's progress; these activities only write down what it says, so "started",
 * "failed" or "awaiting an operator" mean the same in MySQL as in the Temporal UI.
 */
import type { Knex } from 'knex';
import { AuditHeldError } from '../lib/errors';
import type { RunOutcome } from '../lib/metrics/pipeline-metrics';
import { dateColumnOfIso } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { ResolvedInput } from '../workflows/segmentation-input';
import { dataDateOf } from '../workflows/data-date';
import { FINAL_STATUSES, type SegmentationProgress } from '../workflows/segmentation-progress';
import type { ActivityDependencies } from './activity-dependencies';

export interface RunStartedInput {
  runId: string;
  workflowId: string;
  /** When the workflow was started (kept across resets): orders runs, so the newest one publishes. */
  startedAt: string;
  input: ResolvedInput;
}

export function createRecordRunStarted({ db }: ActivityDependencies) {
  return async function recordRunStarted({ runId, workflowId, startedAt, input }: RunStartedInput): Promise<void> {
    const row = {
      run_id: runId,
      workflow_id: workflowId,
      file: input.files.join(', ').slice(0, 1024),
      sheet: input.sheet,
      threshold: input.threshold,
      chunk_size: input.chunkSize,
      // Absent in the input of runs from before append mode.
      mode: input.mode ?? 'snapshot',
      window_length: input.window ?? 'all',
      input: JSON.stringify(input),
      status: 'running',
      current_step: null,
      steps: '{}',
      started_at: new Date(startedAt),
      finished_at: null,
      error: null,
    };
    // A run reset in the UI starts again under the same key: it is running again, and the rest
    // of its row is rewritten as its steps proceed.
    await db(TABLES.runs).insert(row).onConflict('run_id').merge(['status', 'current_step', 'finished_at', 'error']);
  };
}

export function createRecordRunProgress({ db, metrics }: ActivityDependencies) {
  return async function recordRunProgress(progress: SegmentationProgress): Promise<void> {
    const taken = await applyRunRecord(db, progress.runId, progress.recordSequence ?? 0, runColumns(progress));
    // Counted by the attempt whose record the row took: a retry of the same record, or one that
    // lands after a newer one, counts nothing.
    const outcome = runOutcomeOf(progress);
    if (taken && outcome) metrics?.runReached(outcome);
  };
}

/** The outcome `segmentation_runs_total` counts for this record, if it is one: a run held by its audit is `held`. */
export function runOutcomeOf(progress: Pick<SegmentationProgress, 'status' | 'failure'>): RunOutcome | undefined {
  if (progress.status === 'awaiting-operator') return progress.failure?.type === AuditHeldError.type ? 'held' : undefined;
  return progress.status === 'running' ? undefined : progress.status;
}

/**
 * Writes a record of the run if it is newer than the one the row holds, in one conditional
 * UPDATE (no read-then-write race): records run beside the steps and may land out of order, and
 * a retried or stale attempt lands late, but the row never moves backwards. Records without a
 * number (sent before the workflow numbered them) only replace rows no numbered one has reached.
 * Returns whether the row took it.
 */
export async function applyRunRecord(db: Knex, runId: string, sequence: number, columns: Record<string, unknown>): Promise<boolean> {
  const updated = await db(TABLES.runs)
    .where({ run_id: runId })
    .andWhere('record_sequence', '<', Math.max(sequence, 1))
    .update({ ...columns, record_sequence: sequence });
  return updated > 0;
}

/** The progress, as the runs table's columns. */
export function runColumns(progress: SegmentationProgress): Record<string, unknown> {
  const { summary, steps } = progress;
  const load = steps.load.counts;
  return {
    status: progress.status,
    current_step: progress.currentStep,
    steps: JSON.stringify(steps),
    files: progress.files ? JSON.stringify(progress.files) : null,
    published_offsets: progress.publishedOffsets ? JSON.stringify(progress.publishedOffsets) : null,
    data_quality: progress.dataQuality ? JSON.stringify(progress.dataQuality) : null,
    data_date: dateColumnOfIso(dataDateOf(progress)),
    invoices: progress.invoices ? JSON.stringify(progress.invoices) : null,
    audit: progress.audit ? JSON.stringify(progress.audit) : null,
    rows_read: summary?.rowsRead ?? load?.rowsRead ?? null,
    rows_kept: summary?.rowsKept ?? load?.rowsKept ?? null,
    customers: summary?.customers ?? steps.aggregate.counts?.customers ?? null,
    messages_published: summary?.messagesPublished ?? steps.publish.counts?.messagesPublished ?? null,
    customers_consumed: summary?.customersConsumed ?? null,
    low_frequency: summary?.low ?? null,
    high_frequency: summary?.high ?? null,
    rows_written: summary?.rowsWritten ?? null,
    error: progress.error ?? null,
    finished_at: FINAL_STATUSES.includes(progress.status) ? new Date() : null,
  };
}
