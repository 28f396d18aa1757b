/**
 * customerSegmentation: workbook → (customer, invoice) pairs → purchase counts → Kafka →
 * classification → reconciliation → audit → customer_segments ("write, audit, publish"). Each step
 * is an activity (load, publish and classify fan out into several), so the Temporal UI shows which
 * one runs, retries only that one, and a reset can restart from any of them.
 *
 * A step that fails for good (bad input, or its attempts spent) does not end the run: the run
 * records the failure and waits for an operator's `retry` (that step and the later ones run
 * again; the earlier ones do not) or `abort`. A run its audit holds waits the same way, and an
 * operator may also `approve` it: it is then published as it is.
 *
 * Orchestration only: every read and write happens in the activities, and what passes through
 * this history is a run id, counts, file fingerprints and offset ranges, never rows.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SegmentationActivities } from '../activities';
import type { AggregateResult } from '../activities/aggregate-purchases';
import type { ClassifyResult } from '../activities/classify-customers';
import type { PublishResult } from '../activities/publish-purchase-counts';
import type { PublishSegmentsResult } from '../activities/publish-segments';
import type { ReconcileResult } from '../activities/reconcile-run';
import type { AuditResult } from '../activities/audit-run';
import { describeFailedChecks } from '../lib/audit/audit-checks';
import { mergeDataQualityReports, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import { SEGMENTATION_STATUS, SEGMENTATION_STEP, TEMPORAL_SCHEDULED_START_TIME } from '../lib/search-attributes';
import { describeProgress } from './describe-progress';
import { decisionProblem, operatorDecisionUpdate, type OperatorDecision } from './operator-decision';
import { resolveInput, type ResolvedInput, type SegmentationInput } from './segmentation-input';
import {
  newProgress,
  nextRecordSequence,
  progressQuery,
  STEPS,
  STEPS_BEFORE_AUDIT,
  STEP_TITLES,
  type RunSummary,
  type SegmentationProgress,
  type StepFailure,
  type StepName,
} from './segmentation-progress';
import { mergePublishedRanges, partitionGroups } from './partition-groups';

/** What each step hands to the later ones: counts and references only. */
interface StepResults {
  load: DataQualityReport;
  aggregate: AggregateResult;
  publish: PublishResult;
  classify: ClassifyResult;
  reconcile: ReconcileResult;
  audit: AuditResult;
  publication: PublishSegmentsResult;
}

/**
 * Errors a retry of the same step cannot mend, but running an earlier step again can: the
 * operator's `retry` starts there.
 */
/** The patch that made publish fan out (`publishActivities`); older histories have one publish activity. */
const PUBLISH_IN_SLICES = 'publish-in-slices';
/** The patch that put the audit and a publication step of its own after reconcile; older histories publish in reconcile. */
const AUDIT_BEFORE_PUBLICATION = 'audit-before-publication';
/** A publication finds another run published since the audit: audit again, at most this often, then wait for an operator. */
const MAX_AUDITS = 5;
/** The patch that capped load activities in flight (`loadActivities`); older histories started one per sheet at once. */
const LOAD_IN_TURNS = 'load-in-turns';
/** The patch that stops a step whose record failed; older histories leave its activities running. */
const RUN_RECORD_SEQUENCE = 'run-record-sequence';
const RETRY_FROM: Record<string, StepName> = {
  PublishedRangeGoneError: 'publish',
  StagingMissingError: 'load',
  // Another run kept publishing between audits: audit again against what is published now.
  PublicationRaceError: 'audit',
};
/**
 * Published, consumed and written disagree: reconciling again cannot change that, publishing and
 * consuming again can. Patched: histories from before retried reconcile, and replay so.
 */
const RECONCILE_RETRIES_FROM_PUBLISH = 'reconcile-retries-from-publish';
/** The patch that lets an accepted decision win over the operator-wait timer firing in the same activation. */
const DECISION_WINS_OVER_TIMER = 'decision-wins-over-timer';
/** Errors no operator decision can mend: the input itself is wrong. */
const FAIL_AT_ONCE = ['InvalidInputError'];
/** The audit's "no": not an error of any step, but the same operator wait, where `approve` is also allowed. */
const AUDIT_HELD = 'AuditHeldError';

export async function customerSegmentation(rawInput: SegmentationInput): Promise<SegmentationProgress> {
  const info = workflowInfo();
  const runId = info.firstExecutionRunId;
  const progress = newProgress(runId, info.workflowId);
  const audits = patched(AUDIT_BEFORE_PUBLICATION);
  const steps_ = audits ? STEPS : STEPS_BEFORE_AUDIT;
  let decision: OperatorDecision | undefined;
  /** Set by `approve`: the held run is published as it is. */
  let approval: OperatorDecision | undefined;
  /** Audits that found another run published by the time of their publication (reset by an operator's decision). */
  let audited = 0;
  setHandler(progressQuery, () => progress);
  setHandler(
    operatorDecisionUpdate,
    (received) => {
      const failure = progress.failure!;
      const { action, by, reason } = received;
      decision = received;
      progress.decisions.push({ action, step: failure.step, at: new Date().toISOString(), by, reason });
      // Queries and the UI see the decision at once, before the run has acted on it.
      progress.status = action === 'abort' ? 'failed' : 'running';
      progress.awaitingOperatorUntil = undefined;
      show();
      return { action, step: failure.step, retryFrom: action === 'retry' ? failure.retryFrom : action === 'approve' ? 'publication' : undefined };
    },
    {
      validator: (received) => {
        const problem = decisionProblem(received, progress.status, progress.failure?.type === AUDIT_HELD);
        if (problem) throw new Error(problem);
      },
    },
  );
  const show = () => {
    setCurrentDetails(describeProgress(progress));
    upsertSearchAttributes([
      { key: SEGMENTATION_STEP, value: progress.currentStep ?? 'done' },
      { key: SEGMENTATION_STATUS, value: progress.status },
    ]);
  };

  const input = resolveInput(rawInput);
  const { steps, bookkeeping } = activitiesFor(input);
  const dataDate = () => results.load?.newestInvoiceDate ?? null;
  show();

  /**
   * The run's row in MySQL follows the progress; an error here is the step's (MySQL is down).
   * Each record is numbered, so one that lands late (records run beside the steps) never
   * replaces a newer one.
   */
  const record = () => {
    progress.recordSequence = nextRecordSequence(progress.recordSequence, Date.now());
    return bookkeeping.recordRunProgress.executeWithOptions({ summary: `Record: ${progress.status}` }, [progress]);
  };
  /**
   * After the outcome is settled, recording it must not change it: a failure is logged, the
   * Temporal UI still has the truth, and once the run has closed the sweep settles its row from
   * Temporal's answer (workers/settle-closed-runs.ts).
   */
  const recordFinally = async () => {
    try {
      await CancellationScope.nonCancellable(record);
    } catch (error) {
      log.warn('could not record the run in MySQL', { error: rootMessage(error) });
    }
  };

  const results: Partial<StepResults> = {};
  const bodies: { [S in StepName]: () => Promise<StepResults[S]> } = {
    load: async () => {
      const plan = await steps.planLoad.executeWithOptions({ summary: `Find the workbooks: ${input.files.join(', ')}` }, [
        { runId, files: input.files, sheet: input.sheet, reader: input.reader, scheduledAt: scheduledTime().toISOString(), timezone: input.timezone },
      ]);
      progress.files = plan.files;
      const inFlight = patched(LOAD_IN_TURNS) ? input.loadActivities : Infinity;
      const parts = await inParallel(
        plan.parts.map((part) => async () => {
          const report = await steps.loadWorkbookPart.executeWithOptions({ summary: `Load and clean ${part.file} / ${part.sheet}` }, [
            { runId, ...part, reader: input.reader },
          ]);
          addCounts('load', { sheetsLoaded: 1, rowsRead: report.rowsRead, rowsKept: report.rowsKept });
          return { file: part.file, sheet: part.sheet, report };
        }),
        inFlight,
      );
      progress.dataQuality = mergeDataQualityReports(parts, plan.skippedSheets);
      return progress.dataQuality;
    },
    aggregate: () =>
      steps.aggregatePurchases.executeWithOptions({ summary: STEP_TITLES.aggregate }, [{ runId, rowsKept: results.load!.rowsKept }]),
    publish: async () => {
      // Runs started before publish fanned out replay as one activity.
      if (!patched(PUBLISH_IN_SLICES)) {
        const published = await steps.publishPurchaseCounts.executeWithOptions({ summary: STEP_TITLES.publish }, [{ runId, chunkSize: input.chunkSize }]);
        progress.publishedOffsets = published.ranges;
        return published;
      }
      const of = input.publishActivities;
      const parts = await inParallel(
        Array.from({ length: of }, (_, index) => async () => {
          const summary = of > 1 ? `Publish customers ${index} mod ${of}` : STEP_TITLES.publish;
          const result = await steps.publishPurchaseCounts.executeWithOptions({ summary }, [{ runId, chunkSize: input.chunkSize, slice: { index, of } }]);
          addCounts('publish', { slicesDone: 1, messagesPublished: result.messagesPublished });
          return result;
        }),
      );
      const published: PublishResult = {
        messagesPublished: parts.reduce((total, part) => total + part.messagesPublished, 0),
        chunks: parts.reduce((total, part) => total + part.chunks, 0),
        ranges: mergePublishedRanges(parts.map((part) => part.ranges)),
      };
      progress.publishedOffsets = published.ranges;
      return published;
    },
    classify: async () => {
      const groups = partitionGroups(results.publish!.ranges, input.classifyActivities);
      const parts = await inParallel(
        groups.map((ranges) => async () => {
          const result = await steps.classifyCustomers.executeWithOptions(
            { summary: `Consume and classify partition${ranges.length > 1 ? 's' : ''} ${ranges.map((r) => r.partition).join(', ')}` },
            [{ runId, threshold: input.threshold, batchSize: input.classifyBatchSize, ranges }],
          );
          addCounts('classify', { groupsDone: 1, messagesConsumed: result.messagesConsumed });
          return result;
        }),
      );
      // Each group has partitions of its own, so their counts add up.
      return { messagesConsumed: parts.reduce((total, part) => total + part.messagesConsumed, 0) };
    },
    reconcile: () =>
      steps.reconcileRun.executeWithOptions({ summary: audits ? STEP_TITLES.reconcile : 'Reconcile and publish results' }, [
        {
          runId,
          runStartedAt: info.startTime.toISOString(),
          checkOnly: audits || undefined,
          threshold: input.threshold,
          customers: results.aggregate!.customers,
          purchases: results.aggregate!.purchases,
          messagesPublished: results.publish!.messagesPublished,
          messagesConsumed: results.classify!.messagesConsumed,
        },
      ]),
    audit: async () => {
      const { rowsRead, rowsKept } = results.load!;
      const audited = await steps.auditRun.executeWithOptions({ summary: STEP_TITLES.audit }, [
        {
          runId,
          runStartedAt: info.startTime.toISOString(),
          dataDate: dataDate(),
          runFor: scheduledTime().toISOString(),
          limits: input.audit,
          customers: results.aggregate!.customers,
          high: results.reconcile!.high,
          rowsRead,
          rowsKept,
        },
      ]);
      progress.audit = audited;
      if (audited.outcome === 'held') {
        throw ApplicationFailure.create({
          type: AUDIT_HELD,
          message: `the audit holds this run: ${describeFailedChecks(audited).join('; ')}`,
          nonRetryable: true,
        });
      }
      return audited;
    },
    publication: () =>
      steps.publishSegments.executeWithOptions({ summary: STEP_TITLES.publication }, [
        {
          runId,
          runStartedAt: info.startTime.toISOString(),
          dataDate: dataDate(),
          customers: results.aggregate!.customers,
          kind: approval ? 'approved' : input.audit === null ? 'audit-off' : 'audit-passed',
          auditedAgainst: progress.audit?.comparedWith ?? null,
          by: approval?.by,
          reason: approval?.reason,
        },
      ]),
  };
  const counts: { [S in StepName]: (result: StepResults[S]) => Record<string, number> } = {
    load: (report) => ({ rowsRead: report.rowsRead, rowsKept: report.rowsKept }),
    aggregate: (result) => ({ customers: result.customers, purchases: result.purchases }),
    publish: (result) => ({ messagesPublished: result.messagesPublished, chunks: result.chunks }),
    classify: (result) => ({ messagesConsumed: result.messagesConsumed }),
    reconcile: (result): Record<string, number> =>
      audits
        ? { customersConsumed: result.customersConsumed, low: result.low, high: result.high }
        : { customersConsumed: result.customersConsumed, rowsWritten: result.rowsWritten, low: result.low, high: result.high },
    // A superseded run compared nothing, and its publication wrote nothing: no figures to show.
    audit: (result): Record<string, number> =>
      result.superseded
        ? {}
        : {
            checksFailed: result.checks.filter((check) => check.outcome === 'failed').length,
            checksPassed: result.checks.filter((check) => check.outcome === 'passed').length,
          },
    publication: (result): Record<string, number> => ({ rowsWritten: result.outcome === 'published' ? result.rowsWritten : 0 }),
  };

  /** While a step fans out: what its finished activities have done so far (the CLI adds the running ones' heartbeats). */
  function addCounts(name: StepName, done: Record<string, number>): void {
    const counts = (progress.steps[name].counts ??= {});
    for (const [key, value] of Object.entries(done)) counts[key] = (counts[key] ?? 0) + value;
  }

  /** One step: its bookkeeping, then its activities; the progress, UI details and search attributes kept current. */
  async function runStep<S extends StepName>(name: S): Promise<void> {
    const started = Date.now();
    const previous = progress.steps[name];
    progress.currentStep = name;
    progress.steps[name] = { status: 'running', startedAt: new Date(started).toISOString(), runs: (previous.runs ?? 0) + 1 };
    show();
    // Recorded while the step runs, not before it: the record is off the run's critical path, and
    // a failure to record (MySQL down) is still the step's failure.
    let recordError: unknown;
    const recorded = record().catch((error) => {
      recordError = error;
      throw error;
    });
    const body = new CancellationScope();
    const running = body.run(() => bodies[name]());
    let result: StepResults[S];
    try {
      [result] = await Promise.all([running, recorded]);
    } catch (error) {
      // The record failed first: the step's activities are stopped (and awaited), not left
      // running unobserved, before the step fails with the record's error.
      if (error === recordError && patched(RUN_RECORD_SEQUENCE)) {
        body.cancel();
        await running.catch(() => undefined);
      }
      throw error;
    }
    results[name] = result;
    progress.steps[name] = {
      ...progress.steps[name],
      status: 'completed',
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      counts: counts[name](result),
    };
  }

  /** A step failed for good (or the audit held the run): record it, wait for a decision; returns where to start again. */
  async function awaitOperator(failed: StepName, error: unknown): Promise<StepName> {
    const failure = describeFailure(failed, error);
    progress.steps[failed] = { ...progress.steps[failed], status: 'failed', error: failure.message };
    progress.failure = failure;
    progress.error = `${failure.type}: ${failure.message}`;
    if (FAIL_AT_ONCE.includes(failure.type) || input.operatorWaitMs === 0) throw error;

    progress.status = 'awaiting-operator';
    progress.awaitingOperatorUntil = new Date(Date.now() + input.operatorWaitMs).toISOString();
    decision = undefined;
    show();
    await recordFinally();
    const decided = await condition(() => decision !== undefined, input.operatorWaitMs);
    // An accepted decision wins over the timer, even when both land in one activation: the
    // operator was told "retrying" (the validator refuses decisions once the wait has ended).
    // Histories from before that rule timed out there, and replay as they ran.
    if (decision === undefined || (!decided && !patched(DECISION_WINS_OVER_TIMER))) {
      throw ApplicationFailure.create({
        type: 'OperatorTimeoutError',
        message: `no operator decision within ${input.operatorWaitMs / 1000}s after step ${failed} failed: ${progress.error}`,
        nonRetryable: true,
      });
    }
    const { action, by, reason } = decision!;
    if (action === 'abort') {
      throw ApplicationFailure.create({
        type: 'RunAbortedError',
        message: `aborted by ${by ?? 'an operator'}${reason ? ` (${reason})` : ''} after step ${failed} failed: ${progress.error}`,
        nonRetryable: true,
      });
    }
    progress.failure = undefined;
    progress.error = undefined;
    audited = 0;
    if (action === 'approve') {
      approval = decision;
      progress.audit = { ...progress.audit!, approval: { by, reason, at: new Date().toISOString() } };
      return 'publication';
    }
    return failure.retryFrom;
  }

  try {
    await bookkeeping.recordRunStarted.executeWithOptions({ summary: 'Record the run as started' }, [
      { runId, workflowId: info.workflowId, startedAt: info.startTime.toISOString(), input },
    ]);
    for (let index = 0; index < steps_.length; ) {
      const name = steps_[index];
      try {
        await runStep(name);
        index += 1;
        if (name === 'publication' && results.publication!.outcome === 'audit-outdated') {
          if (++audited >= MAX_AUDITS) throw ApplicationFailure.create({ type: 'PublicationRaceError', message: `another run was published after each of ${MAX_AUDITS} audits`, nonRetryable: true });
          index = steps_.indexOf('audit');
        }
      } catch (error) {
        if (isCancellation(error)) throw error;
        index = steps_.indexOf(await awaitOperator(name, error));
      }
    }

    const { load, aggregate, publish, classify, reconcile, publication } = results as StepResults;
    progress.summary = summarise(load, aggregate, publish, classify, reconcile, publication);
    progress.status = progress.summary.published ? 'completed' : 'superseded';
    progress.currentStep = null;
    show();
    await recordFinally();
    await pruneStagingQuietly(steps);
    return progress;
  } catch (error) {
    progress.status = isCancellation(error) ? 'cancelled' : 'failed';
    if (!isCancellation(error)) progress.error = rootMessage(error);
    show();
    await recordFinally();
    throw error;
  }
}

function activitiesFor(input: ResolvedInput) {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: input.maxAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
  return {
    /**
     * Long steps heartbeat at least every few seconds: a missed heartbeat means the worker died and
     * another attempt starts (resuming from the last heartbeat), and a cancel reaches the step
     * through it; the workflow waits until the step has actually stopped.
     */
    steps: proxyActivities<SegmentationActivities>({
      startToCloseTimeout: '2h',
      heartbeatTimeout: '15s',
      retry,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    bookkeeping: proxyActivities<SegmentationActivities>({ startToCloseTimeout: '1m', retry }),
  };
}

/** Pruning other runs' staging is housekeeping (long at a million rows, so it heartbeats): it never fails this run. */
async function pruneStagingQuietly(steps: ReturnType<typeof activitiesFor>['steps']): Promise<void> {
  try {
    await steps.pruneStaging.executeWithOptions({ summary: 'Prune staging of finished runs' }, []);
  } catch (error) {
    log.warn('pruning staging failed; the next run tries again', { error: rootMessage(error) });
  }
}

/**
 * Runs the activities side by side, at most `inFlight` at once (the next starts as one ends); if
 * one fails, the others are cancelled (and awaited) and no further one starts before the failure
 * goes up.
 */
async function inParallel<T>(tasks: Array<() => Promise<T>>, inFlight = Infinity): Promise<T[]> {
  const scope = new CancellationScope();
  let firstError: unknown;
  const fail = (error: unknown) => {
    if (firstError === undefined) {
      firstError = error;
      scope.cancel();
    }
  };
  if (tasks.length <= inFlight) {
    // All at once, as runs started before the cap did (their histories replay through here).
    const running = await scope.run(async () => tasks.map((task) => task()));
    await Promise.all(running.map((promise) => promise.catch(fail)));
    if (firstError !== undefined) throw firstError;
    return await Promise.all(running);
  }
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length && firstError === undefined) {
      const index = next++;
      await scope.run(tasks[index]).then((result) => (results[index] = result), fail);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (firstError !== undefined) throw firstError;
  return results;
}

/** The time the run is for: the schedule's slot if a schedule started it, else when it was started. */
function scheduledTime(): Date {
  return workflowInfo().typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME) ?? workflowInfo().startTime;
}

function summarise(
  load: StepResults['load'],
  aggregate: StepResults['aggregate'],
  publish: StepResults['publish'],
  classify: StepResults['classify'],
  reconcile: StepResults['reconcile'],
  /** Absent in runs from before the audit step, which published in reconcile. */
  publication: StepResults['publication'] | undefined,
): RunSummary {
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
    dataDate: load.newestInvoiceDate ?? null,
    dataQuality: load,
  };
}

function describeFailure(step: StepName, error: unknown): StepFailure {
  const cause = innermost(error);
  const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'Error';
  return {
    step,
    type,
    message: cause instanceof Error ? cause.message : String(cause),
    at: new Date().toISOString(),
    retryFrom: RETRY_FROM[type] ?? (type === 'ReconciliationError' && patched(RECONCILE_RETRIES_FROM_PUBLISH) ? 'publish' : step),
  };
}

/** The activity's own error, not the "activity failed" wrapper around it. */
function innermost(error: unknown): unknown {
  let current = error;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current;
}

function rootMessage(error: unknown): string {
  const cause = innermost(error);
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(error);
}
