/**
 * The sweep: settles runs whose row in `segmentation_runs` still says running or
 * awaiting-operator although their workflow has closed, from Temporal's own answer. The
 * workflow records its own outcome, but a run that is terminated or hits its run timeout never
 * gets to, and its final record may fail (MySQL down); such a row would say running forever, and
 * its staging would never be pruned. The worker sweeps at start and every few minutes
 * (SETTLE_CLOSED_RUNS_EVERY_MS); `segment runs` sweeps before it lists.
 *
 * A row is the run's chain of executions (its key is the first execution's run id, kept across
 * resets): the newest execution of that chain decides. Temporal's outcomes map to the run's:
 * completed → the workflow's own result (completed or superseded); cancelled → cancelled;
 * failed, terminated, timed out → failed, with what happened in `error`. `finished_at` is when
 * the workflow closed, so retention (STAGING_KEEP_FAILED_HOURS) counts from then.
 */
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import { rootCause } from '@temporalio/common';
import type { Knex } from 'knex';
import { runColumns } from '../activities/record-run';
import { TABLES } from '../lib/tables';
import { RECORD_SEQUENCES_PER_MS, type RunStatus, type SegmentationProgress } from '../workflows/segmentation-progress';

/** How often a worker sweeps (and once at its start). */
export const SETTLE_CLOSED_RUNS_EVERY_MS = 5 * 60_000;

const OPEN_STATUSES: readonly RunStatus[] = ['running', 'awaiting-operator'];
/** Temporal's final statuses (continued-as-new is not: the chain goes on). */
const CLOSED: readonly WorkflowExecutionStatusName[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export interface SettledRun {
  runId: string;
  workflowId: string;
  /** How Temporal says the workflow ended: TERMINATED, TIMED_OUT, FAILED, CANCELLED, COMPLETED. */
  closedAs: string;
  status: RunStatus;
  error: string | null;
}

interface ClosedExecution {
  workflowId: string;
  executionRunId: string;
  status: string;
  closeTime: Date;
}

/** Settles every open row whose workflow has closed; returns the rows it settled. */
export async function settleClosedRuns(db: Knex, client: Client): Promise<SettledRun[]> {
  const open: Array<{ run_id: string; workflow_id: string }> = await db(TABLES.runs).whereIn('status', OPEN_STATUSES).select('run_id', 'workflow_id');
  const settled: SettledRun[] = [];
  for (const row of open) {
    const closed = await closedExecution(client, row.workflow_id, row.run_id);
    if (!closed) continue;
    const { status, columns } = await outcome(client, closed);
    // One conditional UPDATE: only a row that is still open and holds no record newer than the
    // close (a reset's new execution numbers its records after it) is settled. Every record the
    // closed execution sent was numbered at or before its close, so none that lands late can
    // move the row back.
    const closeSequence = closed.closeTime.getTime() * RECORD_SEQUENCES_PER_MS + (RECORD_SEQUENCES_PER_MS - 1);
    const updated = await db(TABLES.runs)
      .where({ run_id: row.run_id })
      .whereIn('status', OPEN_STATUSES)
      .andWhere('record_sequence', '<=', closeSequence)
      .update({ ...columns, status, finished_at: closed.closeTime, record_sequence: closeSequence });
    if (updated > 0) {
      settled.push({ runId: row.run_id, workflowId: row.workflow_id, closedAs: closed.status, status, error: (columns.error as string | null) ?? null });
    }
  }
  return settled;
}

/**
 * The newest execution of the run's chain, if it has closed; undefined while it runs, or if
 * Temporal does not know the chain (its history is past retention, or this is another
 * namespace): nothing is settled on a guess.
 */
async function closedExecution(client: Client, workflowId: string, runKey: string): Promise<ClosedExecution | undefined> {
  let newest;
  try {
    newest = await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  const inChain = (description: typeof newest) => (description.raw.workflowExecutionInfo?.firstRunId || description.runId) === runKey;
  let latest = inChain(newest) ? newest : undefined;
  if (!latest) {
    // The workflow id was used again after this run's chain closed: find the chain's newest execution.
    for await (const execution of client.workflow.list({ query: `WorkflowId = ${quoted(workflowId)}` })) {
      if (latest && latest.startTime >= execution.startTime) continue;
      const description = await client.workflow.getHandle(workflowId, execution.runId).describe();
      if (inChain(description)) latest = description;
    }
  }
  if (!latest || !CLOSED.includes(latest.status.name) || !latest.closeTime) return undefined;
  return { workflowId, executionRunId: latest.runId, status: latest.status.name, closeTime: latest.closeTime };
}

/** What the run's row says once settled. */
async function outcome(client: Client, closed: ClosedExecution): Promise<{ status: RunStatus; columns: Record<string, unknown> }> {
  const handle = client.workflow.getHandle(closed.workflowId, closed.executionRunId, { followRuns: false });
  if (closed.status === 'COMPLETED') {
    const progress: SegmentationProgress = await handle.result();
    return { status: progress.status, columns: runColumns(progress) };
  }
  if (closed.status === 'CANCELLED') return { status: 'cancelled', columns: { error: null } };
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => error,
  );
  // The innermost failure's message: what the workflow or its activity said.
  const reason = failure instanceof WorkflowFailedError ? rootCause(failure.cause) || undefined : undefined;
  const error =
    closed.status === 'TERMINATED'
      ? `terminated in Temporal${reason ? `: ${reason}` : ''}`
      : closed.status === 'TIMED_OUT'
        ? 'timed out in Temporal: the workflow run or execution timeout elapsed'
        : (reason ?? `closed in Temporal as ${closed.status}`);
  return { status: 'failed', columns: { error } };
}

/** A string literal for a visibility query (workflow ids are typed by people). */
function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
