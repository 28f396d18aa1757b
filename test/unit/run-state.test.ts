/**
 * The run's state transitions (workflows/run-state.ts) and the failure policy (lib/errors.ts),
 * alone: plain functions of the state and the workflow time, no Temporal server.
 */
import { failurePolicy, InvalidInputError, MessageVersionError, NON_RETRYABLE_ERROR_TYPES, OperatorTimeoutError, POLICY_ERRORS, RunAbortedError, StagingMissingError } from '../../lib/errors';
import { emptyDataQualityReport } from '../../lib/cleaning/data-quality-report';
import * as state from '../../workflows/run-state';
import { newProgress, type SegmentationProgress, type StepFailure } from '../../workflows/segmentation-progress';
import { STEPS, stepsOf, STEP_TABLE } from '../../workflows/steps';

const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const fresh = () => newProgress('run-1', 'wf-1');
const failure = (overrides: Partial<StepFailure> = {}): StepFailure => ({ step: 'classify', type: 'Error', message: 'ECONNREFUSED', at: new Date(T0).toISOString(), retryFrom: 'classify', ...overrides });

function waiting(overrides: Partial<StepFailure> = {}): SegmentationProgress {
  return state.awaitOperator(state.failStep(state.startStep(fresh(), 'classify', T0), failure(overrides)), T0 + 3_600_000);
}

test('the step table lists the pipeline in order, and runs from before the audit end with reconcile', () => {
  expect(STEPS).toEqual(['load', 'aggregate', 'publish', 'classify', 'reconcile', 'audit', 'publication']);
  expect(stepsOf(false)).toEqual(['load', 'aggregate', 'publish', 'classify', 'reconcile']);
  expect(stepsOf(true)).toEqual(STEPS);
  expect(Object.values(STEP_TABLE).filter((step) => step.heartbeats).map((step) => step.heartbeats!.activity)).toEqual(['loadWorkbookPart', 'publishPurchaseCounts', 'classifyCustomers']);
});

test('a step starts, counts up while it fans out, and completes with its figures and time; a second start counts its runs', () => {
  const started = state.startStep(fresh(), 'load', T0);
  expect(started.currentStep).toBe('load');
  expect(started.steps.load).toEqual({ status: 'running', startedAt: '2026-12-01T08:00:00.000Z', runs: 1 });

  const counted = state.addStepCounts(state.addStepCounts(started, 'load', { sheetsLoaded: 1, rowsRead: 10 }), 'load', { sheetsLoaded: 1, rowsRead: 5 });
  expect(counted.steps.load.counts).toEqual({ sheetsLoaded: 2, rowsRead: 15 });
  expect(started.steps.load.counts).toBeUndefined();

  const done = state.completeStep(counted, 'load', { rowsRead: 15, rowsKept: 12 }, T0 + 2_500);
  expect(done.steps.load).toMatchObject({ status: 'completed', finishedAt: '2026-12-01T08:00:02.500Z', seconds: 2.5, counts: { rowsRead: 15, rowsKept: 12 } });
  expect(state.startStep(done, 'load', T0 + 3_000).steps.load).toEqual({ status: 'running', startedAt: '2026-12-01T08:00:03.000Z', runs: 2 });
});

test('a failed step records the failure and the run error; the wait says until when', () => {
  const progress = waiting();
  expect(progress.steps.classify).toMatchObject({ status: 'failed', error: 'ECONNREFUSED' });
  expect(progress.failure).toEqual(failure());
  expect(progress.error).toBe('Error: ECONNREFUSED');
  expect(progress).toMatchObject({ status: 'awaiting-operator', awaitingOperatorUntil: '2026-12-01T09:00:00.000Z' });
});

test('a decision is recorded and shown at once; its receipt says where the run starts again', () => {
  const retry = state.decide(waiting({ retryFrom: 'publish' }), { action: 'retry', by: 'ops', reason: 'topic back' }, T0 + 60_000);
  expect(retry.receipt).toEqual({ action: 'retry', step: 'classify', retryFrom: 'publish' });
  expect(retry.progress.decisions).toEqual([{ action: 'retry', step: 'classify', at: '2026-12-01T08:01:00.000Z', by: 'ops', reason: 'topic back' }]);
  expect(retry.progress).toMatchObject({ status: 'running', awaitingOperatorUntil: undefined });

  expect(state.decide(waiting(), { action: 'abort' }, T0).progress.status).toBe('failed');
  expect(state.decide(waiting({ step: 'audit', type: 'AuditHeldError' }), { action: 'approve' }, T0).receipt).toMatchObject({ retryFrom: 'publication' });
});

test('after the wait: retry resumes at retryFrom with the failure cleared; approve resumes at publication with the approval recorded', () => {
  const retried = state.afterWait(waiting({ retryFrom: 'publish' }), { action: 'retry' }, 3_600_000, T0);
  expect(retried).toMatchObject({ resumeAt: 'publish', progress: { failure: undefined, error: undefined } });

  const held = { ...waiting({ step: 'audit', type: 'AuditHeldError', retryFrom: 'audit' }), audit: { outcome: 'held' as const, comparedWith: 'run-0', checks: [] } };
  const approved = state.afterWait(held, { action: 'approve', by: 'ops', reason: 'Christmas' }, 3_600_000, T0);
  expect(approved).toMatchObject({ resumeAt: 'publication', approval: { action: 'approve', by: 'ops' } });
  expect('progress' in approved && approved.progress.audit).toEqual({ outcome: 'held', comparedWith: 'run-0', checks: [], approval: { by: 'ops', reason: 'Christmas', at: '2026-12-01T08:00:00.000Z' } });
});

test('after the wait: abort and no decision end the run with errors that say why', () => {
  const aborted = state.afterWait(waiting(), { action: 'abort', by: 'ops', reason: 'wrong export' }, 3_600_000, T0);
  expect('endWith' in aborted && aborted.endWith).toBeInstanceOf(RunAbortedError);
  expect('endWith' in aborted && aborted.endWith.message).toBe('aborted by ops (wrong export) after step classify failed: Error: ECONNREFUSED');
  const timedOut = state.afterWait(waiting(), undefined, 3_600_000, T0);
  expect('endWith' in timedOut && timedOut.endWith).toBeInstanceOf(OperatorTimeoutError);
  expect('endWith' in timedOut && timedOut.endWith.message).toBe('no operator decision within 3600s after step classify failed: Error: ECONNREFUSED');
});

test('a finished run is completed when published, superseded when not; an unfinished one is cancelled or failed', () => {
  const results = {
    load: { ...emptyDataQualityReport(), rowsRead: 12, rowsKept: 10, newestInvoiceDate: '2011-12-09T12:50:00' },
    aggregate: { customers: 4, purchases: 7 },
    publish: { messagesPublished: 4, chunks: 1, ranges: [] },
    classify: { messagesConsumed: 4 },
    reconcile: { customersConsumed: 4, low: 3, high: 1, published: false, rowsWritten: 0 },
    audit: { outcome: 'passed' as const, comparedWith: null, checks: [] },
  };
  const published = state.finishRun(fresh(), { ...results, publication: { outcome: 'published', rowsWritten: 4, replaced: null } });
  expect(published).toMatchObject({ status: 'completed', currentStep: null, summary: { customers: 4, low: 3, high: 1, published: true, rowsWritten: 4, dataDate: '2011-12-09T12:50:00' } });
  const superseded = state.finishRun(fresh(), { ...results, publication: { outcome: 'superseded', supersededBy: 'run-2' } });
  expect(superseded).toMatchObject({ status: 'superseded', summary: { published: false, rowsWritten: 0, supersededBy: 'run-2' } });
  // Runs from before the audit step published in reconcile.
  const { audit: _audit, ...beforeAudit } = results;
  expect(state.finishRun(fresh(), { ...beforeAudit, reconcile: { ...results.reconcile, published: true, rowsWritten: 4 } }).summary).toMatchObject({ published: true, rowsWritten: 4 });

  expect(state.endRun(fresh(), { cancelled: true })).toMatchObject({ status: 'cancelled' });
  expect(state.endRun(fresh(), { error: 'RunAbortedError: aborted' })).toMatchObject({ status: 'failed', error: 'RunAbortedError: aborted' });
});

test('records are numbered by workflow time, always increasing', () => {
  const first = state.nextRecord(fresh(), T0);
  expect(first.recordSequence).toBe(T0 * 1000);
  expect(state.nextRecord(first, T0).recordSequence).toBe(T0 * 1000 + 1);
});

test('the failure policy: what the activities never retry, where an operator retry starts, and what fails at once', () => {
  expect(NON_RETRYABLE_ERROR_TYPES).toEqual([
    'InvalidWorkbookError',
    'InvalidInputError',
    'ReconciliationError',
    'StagingMissingError',
    'WorkbookChangedError',
    'PublishedRangeGoneError',
    'MessageVersionError',
    'InvalidMessageError',
    'StaleAttemptError',
    'NotificationRejectedError',
    'UnknownContractVersionError',
  ]);
  // A misshapen message with the run's header: the same, publishing again writes good ones.
  expect([failurePolicy('InvalidMessageError').retryable, failurePolicy('InvalidMessageError').retryFrom]).toEqual([false, 'publish']);
  expect(failurePolicy('PublishedRangeGoneError').retryFrom).toBe('publish');
  // A message of another release's version: consuming again would meet it again, publishing again sends this version.
  const messageVersion = failurePolicy('MessageVersionError');
  expect([messageVersion.retryable, messageVersion.retryFrom]).toEqual([false, 'publish']);
  expect(new MessageVersionError('old').toFailure()).toMatchObject({ type: 'MessageVersionError', nonRetryable: true });
  expect(failurePolicy('StagingMissingError').retryFrom).toBe('load');
  expect(failurePolicy('PublicationRaceError').retryFrom).toBe('audit');
  expect(failurePolicy('ReconciliationError').retryFrom).toBe('publish');
  expect(failurePolicy('InvalidInputError').retryFrom).toBe('never');
  const infrastructure = failurePolicy('KafkaJSNumberOfRetriesExceeded');
  expect([infrastructure.retryable, infrastructure.retryFrom]).toEqual([true, 'failed-step']);
  expect(new StagingMissingError('pruned').name).toBe('StagingMissingError');
  // Temporal names an activity's failure by the error's class name: a type that differed would
  // be retried and wait for an operator as an infrastructure error.
  for (const error of POLICY_ERRORS) expect(error.name).toBe(error.type);
});

test('InvalidInputError is one error: its message names the field, and as a workflow failure it carries the field and is never retried', () => {
  const error = new InvalidInputError('threshold', 'must be a whole number');
  expect(error.message).toBe('input field "threshold" must be a whole number');
  expect(error.toFailure()).toMatchObject({ type: 'InvalidInputError', message: error.message, nonRetryable: true, details: [{ field: 'threshold' }] });
});
