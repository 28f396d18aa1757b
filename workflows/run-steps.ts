/**
 * How the workflow runs one step of the table and, when a step fails for good, waits for an
 * operator. Every function takes the run explicitly; the state transitions themselves are pure
 * (run-state.ts), and what is shown goes out through `show`.
 */
import { CancellationScope, condition, log, patched, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { SEGMENTATION_STATUS, SEGMENTATION_STEP } from '../lib/search-attributes';
import { describeProgress } from './describe-progress';
import type { OperatorDecision } from './operator-decision';
import { AuditHeldError } from '../lib/errors';
import { DECISION_WINS_OVER_TIMER, RUN_RECORD_SEQUENCE } from './patches';
import { notify } from './run-notifications';
import * as state from './run-state';
import type { StepActivities } from './step-activities';
import { describeFailure, rootMessage, waitsForOperator } from './step-failure';
import type { SegmentationProgress } from './segmentation-progress';
import { STEP_TABLE, type StepDefinition, type StepName, type StepRun } from './steps';

/** What the handlers and the loop share: the run's progress, and what an operator sent and decided. */
export interface RunState {
  progress: SegmentationProgress;
  /** The decision an operator sent while the run waits (cleared when a wait starts). */
  decision?: OperatorDecision;
  /** Set by `approve`: the held run is published as it is. */
  approval?: OperatorDecision;
  /** Audits that found another run published by their publication (reset by an operator's decision). */
  audited: number;
  /** Operator waits so far in this execution: each one's notification is its own event. */
  waits: number;
  /** Notifications started and not yet settled (workflows/run-notifications.ts). */
  notifications: Array<Promise<void>>;
}

/** A run as its steps see it, the bookkeeping activities that record it, and the one that notifies. */
export interface Run extends StepRun {
  readonly state: RunState;
  readonly bookkeeping: StepActivities;
  readonly notifications: StepActivities;
}

export function openRun(runState: RunState, fields: Omit<Run, 'state' | 'progress' | 'approval' | 'note' | 'addCounts'>): Run {
  return {
    ...fields,
    state: runState,
    get progress() {
      return runState.progress;
    },
    get approval() {
      return runState.approval;
    },
    note: (facts) => void (runState.progress = { ...runState.progress, ...facts }),
    addCounts: (step, done) => void (runState.progress = state.addStepCounts(runState.progress, step, done)),
  };
}

/** The Temporal UI's current details and the run's search attributes, from the progress. */
export function show(progress: SegmentationProgress): void {
  setCurrentDetails(describeProgress(progress));
  upsertSearchAttributes([
    { key: SEGMENTATION_STEP, value: progress.currentStep ?? 'done' },
    { key: SEGMENTATION_STATUS, value: progress.status },
  ]);
}

/** The run's row in MySQL follows the progress; numbered, so a record that lands late never replaces a newer one. */
function record(run: Run): Promise<void> {
  run.state.progress = state.nextRecord(run.state.progress, Date.now());
  return run.bookkeeping.recordRunProgress.executeWithOptions({ summary: `Record: ${run.state.progress.status}` }, [run.state.progress]);
}

/**
 * After the outcome is settled, recording it must not change it: a failure is logged, the
 * Temporal UI still has the truth, and once the run has closed the sweep settles its row from
 * Temporal's answer (workers/settle-closed-runs.ts).
 */
export async function recordFinally(run: Run): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() => record(run));
  } catch (error) {
    log.warn('could not record the run in MySQL', { error: rootMessage(error) });
  }
}

/** One step: shown and recorded as started, its body run, its result and figures kept. */
export async function runStep<S extends StepName>(run: Run, name: S): Promise<void> {
  const step: StepDefinition<S> = STEP_TABLE[name];
  run.state.progress = state.startStep(run.state.progress, name, Date.now());
  show(run.state.progress);
  // Recorded while the step runs, not before it: the record is off the run's critical path, and
  // a failure to record (MySQL down) is still the step's failure.
  let recordError: unknown;
  const recorded = record(run).catch((error) => {
    recordError = error;
    throw error;
  });
  const body = new CancellationScope();
  const running = body.run(() => step.run(run, step.title));
  try {
    const [result] = await Promise.all([running, recorded]);
    run.results[name] = result;
    run.state.progress = state.completeStep(run.state.progress, name, step.counts(result, run), Date.now());
  } catch (error) {
    // The record failed first: the step's activities are stopped (and awaited), not left
    // running unobserved, before the step fails with the record's error.
    if (error === recordError && patched(RUN_RECORD_SEQUENCE)) {
      body.cancel();
      await running.catch(() => undefined);
    }
    throw error;
  }
}

/** A step failed for good (or the audit held the run): record it, wait for a decision; returns where to start again. */
export async function awaitOperator(run: Run, failed: StepName, error: unknown): Promise<StepName> {
  const waitMs = run.input.operatorWaitMs;
  const failure = describeFailure(failed, error, Date.now());
  run.state.progress = state.failStep(run.state.progress, failure);
  if (!waitsForOperator(failure) || waitMs === 0) throw error;

  run.state.progress = state.awaitOperator(run.state.progress, Date.now() + waitMs);
  run.state.decision = undefined;
  run.state.waits += 1;
  show(run.state.progress);
  // Started, not awaited: the wait begins now, whatever the webhook does.
  notify(run, failure.type === AuditHeldError.type ? 'held' : 'awaiting-operator');
  await recordFinally(run);
  const decided = await condition(() => run.state.decision !== undefined, waitMs);
  // An accepted decision wins over the timer, even when both land in one activation: the
  // operator was told "retrying" (the validator refuses decisions once the wait has ended).
  // Only a timer delivered before the Update in one activation reaches the patch check (SDK 1.24
  // delivers the Update first); histories recorded so before a9fd569 timed out here, and replay so.
  const decision = run.state.decision !== undefined && (decided || patched(DECISION_WINS_OVER_TIMER)) ? run.state.decision : undefined;
  const next = state.afterWait(run.state.progress, decision, waitMs, Date.now());
  if ('endWith' in next) throw next.endWith.toFailure();
  run.state.progress = next.progress;
  if (next.approval) run.state.approval = next.approval;
  run.state.audited = 0;
  return next.resumeAt;
}
