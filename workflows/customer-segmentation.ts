/**
 * customerSegmentation: the steps of workflows/steps.ts, top to bottom: workbook → (customer,
 * invoice) pairs → purchase counts → Kafka → classification → reconciliation → audit →
 * customer_segments ("write, audit, publish"). Each step is one or more activities, so the
 * Temporal UI shows which one runs, retries only that one, and a reset can restart from any of them.
 *
 * A step that fails for good (bad input, or its attempts spent) does not end the run: the run
 * records the failure and waits for an operator's `retry` (from where the failure policy in
 * lib/errors.ts says) or `abort`. A run its audit holds waits the same way, and an operator may
 * also `approve` it: it is then published as it is.
 *
 * Orchestration only: every read and write happens in the activities, and what passes through
 * this history is a run id, counts, file fingerprints and offset ranges, never rows.
 */
import { isCancellation, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { AuditHeldError, PublicationRaceError } from '../lib/errors';
import { TEMPORAL_SCHEDULED_START_TIME } from '../lib/search-attributes';
import { decisionProblem, operatorDecisionUpdate } from './operator-decision';
import { AUDIT_BEFORE_PUBLICATION } from './patches';
import * as state from './run-state';
import { notificationsSettled, notify } from './run-notifications';
import { awaitOperator, openRun, recordFinally, runStep, show, type RunState } from './run-steps';
import { activitiesFor } from './step-activities';
import { rootMessage } from './step-failure';
import { resolveInput, type SegmentationInput } from './segmentation-input';
import { newProgress, progressQuery, type SegmentationProgress } from './segmentation-progress';
import { stepsOf, type StepResults } from './steps';

/**
 * A publication finds another run published since the audit (audit again), or, in append mode,
 * another run merged into the ledger since the aggregate (count again): at most this often, then
 * wait for an operator.
 */
const MAX_AUDITS = 5;

export async function customerSegmentation(rawInput: SegmentationInput): Promise<SegmentationProgress> {
  const info = workflowInfo();
  const audits = patched(AUDIT_BEFORE_PUBLICATION);
  const runState: RunState = { progress: newProgress(info.firstExecutionRunId, info.workflowId), audited: 0, waits: 0, notifications: [] };
  setHandler(progressQuery, () => runState.progress);
  setHandler(
    operatorDecisionUpdate,
    (decision) => {
      const decided = state.decide(runState.progress, decision, Date.now());
      runState.decision = decision;
      runState.progress = decided.progress;
      // Queries and the UI see the decision at once, before the run has acted on it.
      show(runState.progress);
      return decided.receipt;
    },
    {
      validator: (decision) => {
        const problem = decisionProblem(decision, runState.progress.status, runState.progress.failure?.type === AuditHeldError.type);
        if (problem) throw new Error(problem);
      },
    },
  );

  const input = resolveInput(rawInput);
  const { steps: activities, bookkeeping, notifications } = activitiesFor(input);
  const slot = info.typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME);
  const run = openRun(runState, {
    runId: info.firstExecutionRunId,
    startedAt: info.startTime.toISOString(),
    scheduledAt: (slot ?? info.startTime).toISOString(),
    scheduled: slot !== undefined,
    input,
    activities,
    bookkeeping,
    notifications,
    audits,
    results: {},
  });
  show(runState.progress);

  try {
    await bookkeeping.recordRunStarted.executeWithOptions({ summary: 'Record the run as started' }, [
      { runId: run.runId, workflowId: info.workflowId, startedAt: run.startedAt, input },
    ]);
    const steps = stepsOf(audits);
    for (let index = 0; index < steps.length; ) {
      const name = steps[index];
      try {
        await runStep(run, name);
        index += 1;
        const outcome = name === 'publication' ? run.results.publication!.outcome : undefined;
        if (outcome === 'audit-outdated' || outcome === 'ledger-moved') {
          if (++runState.audited >= MAX_AUDITS) throw new PublicationRaceError(`another run was published or merged after each of ${MAX_AUDITS} tries`).toFailure();
          index = steps.indexOf(outcome === 'audit-outdated' ? 'audit' : 'aggregate');
          // An approval was for the figures the operator saw: counted again, the run is audited again.
          if (outcome === 'ledger-moved') runState.approval = undefined;
        }
      } catch (error) {
        if (isCancellation(error)) throw error;
        index = steps.indexOf(await awaitOperator(run, name, error));
      }
    }

    runState.progress = state.finishRun(runState.progress, run.results as StepResults);
    show(runState.progress);
    await recordFinally(run);
    if (runState.progress.summary?.published) notify(run, 'published');
    // Pruning other runs' staging is housekeeping (long at a million rows, so it heartbeats): it never fails this run.
    await activities.pruneStaging.executeWithOptions({ summary: 'Prune staging of finished runs' }, []).catch((error: unknown) => {
      log.warn('pruning staging failed; the next run tries again', { error: rootMessage(error) });
    });
    await notificationsSettled(run);
    return runState.progress;
  } catch (error) {
    runState.progress = state.endRun(runState.progress, isCancellation(error) ? { cancelled: true } : { error: rootMessage(error) });
    show(runState.progress);
    await recordFinally(run);
    // A cancelled run was stopped on purpose: nobody needs telling.
    if (!isCancellation(error)) notify(run, 'failed', error);
    await notificationsSettled(run);
    throw error;
  }
}
