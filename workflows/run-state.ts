/**
 * How a run's state moves: a step starts, counts up, completes or fails; the run waits for an
 * operator, takes a decision, resumes, and ends. Each transition takes the state and the workflow
 * time and returns the next state: no Temporal, no I/O, no clock of its own, so each is tested
 * alone (test/unit/run-state.test.ts) and the workflow only says when each happens.
 */
import { RunAbortedError, OperatorTimeoutError } from '../lib/errors';
import type { OperatorDecision, OperatorDecisionReceipt } from './operator-decision';
import { nextRecordSequence, type RunSummary, type SegmentationProgress, type StepFailure, type StepProgress } from './segmentation-progress';
import type { StepName, StepResults } from './steps';

const iso = (ms: number) => new Date(ms).toISOString();

function withStep(progress: SegmentationProgress, step: StepName, state: StepProgress): SegmentationProgress {
  return { ...progress, steps: { ...progress.steps, [step]: state } };
}

/** The step runs (again: `runs` counts its starts). */
export function startStep(progress: SegmentationProgress, step: StepName, now: number): SegmentationProgress {
  const runs = (progress.steps[step].runs ?? 0) + 1;
  return withStep({ ...progress, currentStep: step }, step, { status: 'running', startedAt: iso(now), runs });
}

/** While a step fans out: what its finished activities have done so far (the CLI adds the running ones' heartbeats). */
export function addStepCounts(progress: SegmentationProgress, step: StepName, done: Record<string, number>): SegmentationProgress {
  const counts = { ...progress.steps[step].counts };
  for (const [key, value] of Object.entries(done)) counts[key] = (counts[key] ?? 0) + value;
  return withStep(progress, step, { ...progress.steps[step], counts });
}

/** The step is done, with the figures it shows. */
export function completeStep(progress: SegmentationProgress, step: StepName, counts: Record<string, number>, now: number): SegmentationProgress {
  const current = progress.steps[step];
  const seconds = (now - Date.parse(current.startedAt!)) / 1000;
  return withStep(progress, step, { ...current, status: 'completed', finishedAt: iso(now), seconds, counts });
}

/** The step failed for good (or the audit held the run): what failed, and where a retry would start. */
export function failStep(progress: SegmentationProgress, failure: StepFailure): SegmentationProgress {
  const failed = withStep(progress, failure.step, { ...progress.steps[failure.step], status: 'failed', error: failure.message });
  return { ...failed, failure, error: `${failure.type}: ${failure.message}` };
}

/** The run waits for an operator's decision until `until`. */
export function awaitOperator(progress: SegmentationProgress, until: number): SegmentationProgress {
  return { ...progress, status: 'awaiting-operator', awaitingOperatorUntil: iso(until) };
}

/**
 * An operator's decision, accepted: recorded, and shown at once (before the run acts on it). The
 * receipt tells the sender what the run does next.
 */
export function decide(progress: SegmentationProgress, decision: OperatorDecision, now: number): { progress: SegmentationProgress; receipt: OperatorDecisionReceipt } {
  const failure = progress.failure!;
  const { action, by, reason } = decision;
  const decisions = [...progress.decisions, { action, step: failure.step, at: iso(now), by, reason }];
  const decided: SegmentationProgress = { ...progress, decisions, status: action === 'abort' ? 'failed' : 'running', awaitingOperatorUntil: undefined };
  const retryFrom = action === 'retry' ? failure.retryFrom : action === 'approve' ? 'publication' : undefined;
  return { progress: decided, receipt: { action, step: failure.step, retryFrom } };
}

/** What the run does once the wait is over: resume at a step, or end with the error that says why not. */
export type AfterWait = { resumeAt: StepName; progress: SegmentationProgress; approval?: OperatorDecision } | { endWith: RunAbortedError | OperatorTimeoutError };

/**
 * After the operator wait: no decision (the wait ran out), `abort`, `retry` (from the failure's
 * `retryFrom`) or `approve` (a held run is published as it is, the approval recorded with its audit).
 */
export function afterWait(progress: SegmentationProgress, decision: OperatorDecision | undefined, waitMs: number, now: number): AfterWait {
  const failure = progress.failure!;
  if (decision === undefined) {
    return { endWith: new OperatorTimeoutError(`no operator decision within ${waitMs / 1000}s after step ${failure.step} failed: ${progress.error}`) };
  }
  const { action, by, reason } = decision;
  if (action === 'abort') {
    return { endWith: new RunAbortedError(`aborted by ${by ?? 'an operator'}${reason ? ` (${reason})` : ''} after step ${failure.step} failed: ${progress.error}`) };
  }
  const resumed = { ...progress, failure: undefined, error: undefined };
  if (action === 'approve') {
    return { resumeAt: 'publication', approval: decision, progress: { ...resumed, audit: { ...progress.audit!, approval: { by, reason, at: iso(now) } } } };
  }
  return { resumeAt: failure.retryFrom, progress: resumed };
}

/** Every step done: the run's summary, and whether it was published or superseded. */
export function finishRun(progress: SegmentationProgress, results: StepResults | Omit<StepResults, 'audit' | 'publication'>): SegmentationProgress {
  const summary = summarise(results);
  return { ...progress, summary, status: summary.published ? 'completed' : 'superseded', currentStep: null };
}

/** The run ends without finishing: cancelled, or failed with `error` (its root message). */
export function endRun(progress: SegmentationProgress, ending: { cancelled: true } | { error: string }): SegmentationProgress {
  if ('cancelled' in ending) return { ...progress, status: 'cancelled' };
  return { ...progress, status: 'failed', error: ending.error };
}

/** The progress as the next record to MySQL carries it: numbered, so a late record never replaces a newer one. */
export function nextRecord(progress: SegmentationProgress, now: number): SegmentationProgress {
  return { ...progress, recordSequence: nextRecordSequence(progress.recordSequence, now) };
}

function summarise(results: StepResults | Omit<StepResults, 'audit' | 'publication'>): RunSummary {
  const { load, aggregate, publish, classify, reconcile } = results;
  /** Absent in runs from before the audit step, which published in reconcile. */
  const publication = 'publication' in results ? results.publication : undefined;
  const outcome = publication
    ? {
        published: publication.outcome === 'published',
        rowsWritten: publication.outcome === 'published' ? publication.rowsWritten : 0,
        supersededBy: publication.outcome === 'superseded' ? publication.supersededBy : undefined,
      }
    : { published: reconcile.published, rowsWritten: reconcile.rowsWritten, supersededBy: reconcile.supersededBy };
  return {
    rowsRead: load.rowsRead,
    rowsKept: load.rowsKept,
    customers: aggregate.customers,
    low: reconcile.low,
    high: reconcile.high,
    purchases: aggregate.purchases,
    messagesPublished: publish.messagesPublished,
    messagesConsumed: classify.messagesConsumed,
    customersConsumed: reconcile.customersConsumed,
    ...outcome,
    dataDate: aggregate.invoices ? aggregate.invoices.dataDate : (load.newestInvoiceDate ?? null),
    ...(aggregate.invoices ? { invoices: aggregate.invoices } : {}),
    ...(reconcile.segments ? { segments: reconcile.segments } : {}),
    dataQuality: load,
  };
}
