/**
 * customerSegmentation: the steps of workflows/steps.ts, top to bottom (workbook → pairs →
 * purchase counts → Kafka → classification → reconciliation → audit → customer_segments). Each
 * step is one or more activities, so the Temporal UI shows which one runs, retries only that one,
 * and a reset can restart from any of them.
 *
 * A step that fails for good (bad input, or its attempts spent) does not end the run: the run
 * records the failure and waits for an operator's `retry` (from where the failure policy says) or
 * `abort`. A run its audit holds waits the same way, and may also be `approve`d: published as it is.
 */
import { CancellationScope, condition, isCancellation, log, patched, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { AuditHeldError, PublicationRaceError } from '../lib/errors';
import { SEGMENTATION_STATUS, SEGMENTATION_STEP, TEMPORAL_SCHEDULED_START_TIME } from '../lib/search-attributes';
import { describeProgress } from './describe-progress';
import { decisionProblem, operatorDecisionUpdate, type OperatorDecision } from './operator-decision';
import { AUDIT_BEFORE_PUBLICATION, DECISION_WINS_OVER_TIMER, RUN_RECORD_SEQUENCE } from './patches';
import * as state from './run-state';
import { activitiesFor } from './step-activities';
import { describeFailure, rootMessage, waitsForOperator } from './step-failure';
import { resolveInput, type SegmentationInput } from './segmentation-input';
import { newProgress, progressQuery, type SegmentationProgress } from './segmentation-progress';
import { STEP_TABLE, stepsOf, type StepDefinition, type StepName, type StepResults, type StepRun } from './steps';

/** A publication finds another run published since the audit: audit again, at most this often, then wait for an operator. */
const MAX_AUDITS = 5;

export async function customerSegmentation(rawInput: SegmentationInput): Promise<SegmentationProgress> {
  const info = workflowInfo();
  const audits = patched(AUDIT_BEFORE_PUBLICATION);
  /** The run's state, shared by the handlers and the loop: its progress, and what the operator sent and decided. */
  const run = {
    progress: newProgress(info.firstExecutionRunId, info.workflowId),
    decision: undefined as OperatorDecision | undefined,
    approval: undefined as OperatorDecision | undefined,
    /** Audits that found another run published by their publication (reset by an operator's decision). */
    audited: 0,
  };
  const show = () => {
    setCurrentDetails(describeProgress(run.progress));
    upsertSearchAttributes([
      { key: SEGMENTATION_STEP, value: run.progress.currentStep ?? 'done' },
      { key: SEGMENTATION_STATUS, value: run.progress.status },
    ]);
  };
  setHandler(progressQuery, () => run.progress);
  setHandler(
    operatorDecisionUpdate,
    (decision) => {
      const decided = state.decide(run.progress, decision, Date.now());
      run.decision = decision;
      run.progress = decided.progress;
      show();
      return decided.receipt;
    },
    { validator: (decision) => void throwIf(decisionProblem(decision, run.progress.status, run.progress.failure?.type === AuditHeldError.type)) },
  );

  const input = resolveInput(rawInput);
  const { steps: activities, bookkeeping } = activitiesFor(input);
  const results: Partial<StepResults> = {};
  const stepRun: StepRun = {
    runId: run.progress.runId,
    startedAt: info.startTime.toISOString(),
    scheduledAt: (info.typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME) ?? info.startTime).toISOString(),
    input,
    activities,
    audits,
    results,
    get progress() {
      return run.progress;
    },
    get approval() {
      return run.approval;
    },
    note: (facts) => void (run.progress = { ...run.progress, ...facts }),
    addCounts: (step, done) => void (run.progress = state.addStepCounts(run.progress, step, done)),
  };
  show();

  /** The run's row in MySQL follows the progress; numbered, so a record that lands late never replaces a newer one. */
  const record = () => {
    run.progress = state.nextRecord(run.progress, Date.now());
    return bookkeeping.recordRunProgress.executeWithOptions({ summary: `Record: ${run.progress.status}` }, [run.progress]);
  };
  /** Once the outcome is settled, recording it must not change it: the closed-run sweep settles the row later (workers/settle-closed-runs.ts). */
  const recordFinally = () => CancellationScope.nonCancellable(record).catch((error) => log.warn('could not record the run in MySQL', { error: rootMessage(error) }));

  /** One step: shown and recorded as started, its body run, its figures kept. */
  async function runStep<S extends StepName>(name: S): Promise<void> {
    const step: StepDefinition<S> = STEP_TABLE[name];
    run.progress = state.startStep(run.progress, name, Date.now());
    show();
    // Recorded while the step runs, off its critical path; a failure to record (MySQL down) is still the step's.
    let recordError: unknown;
    const recorded = record().catch((error) => {
      recordError = error;
      throw error;
    });
    const body = new CancellationScope();
    const running = body.run(() => step.run(stepRun, step.title));
    try {
      const [result] = await Promise.all([running, recorded]);
      results[name] = result;
      run.progress = state.completeStep(run.progress, name, step.counts(result, stepRun), Date.now());
    } catch (error) {
      // The record failed first: the step's activities are stopped (and awaited), not left running unobserved.
      if (error === recordError && patched(RUN_RECORD_SEQUENCE)) {
        body.cancel();
        await running.catch(() => undefined);
      }
      throw error;
    }
  }

  /** A step failed for good (or the audit held the run): record it, wait for a decision; returns where to start again. */
  async function awaitOperator(failed: StepName, error: unknown): Promise<StepName> {
    const failure = describeFailure(failed, error, Date.now());
    run.progress = state.failStep(run.progress, failure);
    if (!waitsForOperator(failure) || input.operatorWaitMs === 0) throw error;
    run.progress = state.awaitOperator(run.progress, Date.now() + input.operatorWaitMs);
    run.decision = undefined;
    show();
    await recordFinally();
    const decided = await condition(() => run.decision !== undefined, input.operatorWaitMs);
    // An accepted decision wins over the timer firing in the same activation (the operator was told
    // so); histories from before that rule timed out there, and replay as they ran.
    const taken = run.decision !== undefined && (decided || patched(DECISION_WINS_OVER_TIMER)) ? run.decision : undefined;
    const next = state.afterWait(run.progress, taken, input.operatorWaitMs, Date.now());
    if ('endWith' in next) throw next.endWith.toFailure();
    run.progress = next.progress;
    if (next.approval) run.approval = next.approval;
    run.audited = 0;
    return next.resumeAt;
  }

  try {
    await bookkeeping.recordRunStarted.executeWithOptions({ summary: 'Record the run as started' }, [
      { runId: run.progress.runId, workflowId: info.workflowId, startedAt: info.startTime.toISOString(), input },
    ]);
    const pipeline = stepsOf(audits);
    for (let index = 0; index < pipeline.length; ) {
      const name = pipeline[index];
      try {
        await runStep(name);
        index += 1;
        if (name === 'publication' && results.publication!.outcome === 'audit-outdated') {
          if (++run.audited >= MAX_AUDITS) throw new PublicationRaceError(`another run was published after each of ${MAX_AUDITS} audits`).toFailure();
          index = pipeline.indexOf('audit');
        }
      } catch (error) {
        if (isCancellation(error)) throw error;
        index = pipeline.indexOf(await awaitOperator(name, error));
      }
    }
    run.progress = state.finishRun(run.progress, results as StepResults);
    show();
    await recordFinally();
    // Pruning other runs' staging is housekeeping: it never fails this run.
    await activities.pruneStaging.executeWithOptions({ summary: 'Prune staging of finished runs' }, []).catch((error) => log.warn('pruning staging failed; the next run tries again', { error: rootMessage(error) }));
    return run.progress;
  } catch (error) {
    run.progress = state.endRun(run.progress, isCancellation(error) ? { cancelled: true } : { error: rootMessage(error) });
    show();
    await recordFinally();
    throw error;
  }
}

function throwIf(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}
