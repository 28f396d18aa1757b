/**
 * The run's failure policy, one class per kind of failure. Each says whether Temporal retries the
 * activity that threw it (with backoff) and, once its step has failed for good, where an
 * operator's `retry` starts again. The workflow, the activities' retry options
 * (`NON_RETRYABLE_ERROR_TYPES`) and the CLI all read it from here.
 *
 * Bad input (a misshapen workbook, a wrong workflow field) is never retried: retrying cannot fix
 * it. An error of no class here (Kafka or MySQL down, a crash, a timeout) is infrastructure:
 * retried with backoff, and an operator's retry runs its step again.
 *
 * Temporal turns an error an activity throws into an ApplicationFailure whose `type` is the
 * error's class name (constructor.name, before `name`); each class's `type` is its class name,
 * which test/unit/run-state.test.ts holds for every class.
 */
import { ApplicationFailure } from '@temporalio/common';

/**
 * Where an operator's `retry` starts again after a step failed for good with this error: the
 * failed step itself, an earlier step whose work must be redone, or nowhere (`never`: no operator
 * decision can mend it, and the run fails at once instead of waiting for one).
 */
export type RetryFrom = 'failed-step' | RestartStep | 'never';

/**
 * The earlier steps a retry may go back to. They are steps of the workflow's step table
 * (workflows/steps.ts); the workflow assigns them to its StepName, so the compiler holds the two
 * to each other without this module importing the workflow.
 */
export type RestartStep = 'load' | 'publish' | 'audit';

/** The base of the policy's errors; its defaults are those of an infrastructure error. */
export class SegmentationError extends Error {
  /** The ApplicationFailure type Temporal records (the error's `name`). */
  static readonly type: string = 'SegmentationError';
  /** Whether Temporal retries the activity (with backoff) before its step fails for good. */
  static readonly retryable: boolean = true;
  /** Where an operator's `retry` starts once the step has failed for good. */
  static readonly retryFrom: RetryFrom = 'failed-step';

  constructor(message: string) {
    super(message);
    this.name = new.target.type;
  }

  /** Details the failure carries beside its message (none unless a subclass says). */
  protected failureDetails(): unknown[] | undefined {
    return undefined;
  }

  /**
   * The error as workflow code throws it: only an ApplicationFailure fails the run (any other
   * error fails just the workflow task, retried for ever), and the workflow's own are never retried.
   */
  toFailure(): ApplicationFailure {
    return ApplicationFailure.create({ type: this.name, message: this.message, nonRetryable: true, details: this.failureDetails() });
  }
}

/** Where in a workbook a problem was found. Every field is optional but `file`. */
export interface WorkbookLocation {
  file: string;
  sheet?: string;
  row?: number;
  /** A CSV file's line, where a workbook has a sheet and a row. */
  line?: number;
  column?: string;
}

export class InvalidWorkbookError extends SegmentationError {
  static override readonly type = 'InvalidWorkbookError';
  static override readonly retryable = false;
  constructor(
    readonly location: WorkbookLocation,
    readonly problem: string,
    /** There is no such file (or no match of a pattern): an append run's night with no export, where a snapshot run fails. */
    readonly notFound = false,
  ) {
    super(`${describeLocation(location)}: ${problem}`);
  }
}

/** A workflow input field is wrong: no operator decision can mend it, so the run fails at once. */
export class InvalidInputError extends SegmentationError {
  static override readonly type = 'InvalidInputError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'never';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`input field "${field}" ${problem}`);
  }

  /** The field, for a caller that wants to point at it. */
  protected override failureDetails(): unknown[] {
    return [{ field: this.field }];
  }
}

/**
 * published, consumed and written disagree: re-running the same step would not change that,
 * publishing and consuming again can (runs from before the patch reconcile-retries-from-publish
 * retry reconcile itself: see workflows/step-failure.ts).
 */
export class ReconciliationError extends SegmentationError {
  static override readonly type = 'ReconciliationError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'publish';
}

/** A step re-run (after a reset) needs an earlier step's staging rows, and they were pruned. */
export class StagingMissingError extends SegmentationError {
  static override readonly type = 'StagingMissingError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'load';
}

/**
 * The workbook is not the file this load started on: resuming by row number would mix two
 * versions. The operator's `retry` re-runs the load from the start, on the file as it is now.
 */
export class WorkbookChangedError extends SegmentationError {
  static override readonly type = 'WorkbookChangedError';
  static override readonly retryable = false;
}

/**
 * Messages a run published were deleted by Kafka (retention, or deleteRecords) before the run
 * consumed them. Consuming again cannot bring them back: they have to be published again.
 */
export class PublishedRangeGoneError extends SegmentationError {
  static override readonly type = 'PublishedRangeGoneError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'publish';
}

/**
 * A message in the run's range is of a version this worker does not read (a worker of another
 * release published it): consuming again would meet it again; publishing again sends this version.
 */
export class MessageVersionError extends SegmentationError {
  static override readonly type = 'MessageVersionError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'publish';
}

/**
 * A message in the run's range (with the run's header) is not a customer's message of this version's
 * shape: consuming again would meet it again; publishing again writes new, good ones.
 */
export class InvalidMessageError extends SegmentationError {
  static override readonly type = 'InvalidMessageError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'publish';
}

/**
 * This attempt was superseded (a newer attempt of the same step, or the run went back to an
 * earlier step) while it was frozen or cut off: it writes nothing. Temporal ignores a superseded
 * attempt's outcome; retrying it could only be superseded again.
 */
export class StaleAttemptError extends SegmentationError {
  static override readonly type = 'StaleAttemptError';
  static override readonly retryable = false;
}

/**
 * The notification webhook refused a post (a 4xx other than 408 and 429: a wrong URL, a revoked
 * token, a body it does not take): posting the same again would be refused again. The message
 * names the status, never the URL (its path may be the token).
 */
export class NotificationRejectedError extends SegmentationError {
  static override readonly type = 'NotificationRejectedError';
  static override readonly retryable = false;
}

/** The notification webhook did not take a post (no answer in time, a 5xx, 408 or 429, a network error): retried. */
export class NotificationFailedError extends SegmentationError {
  static override readonly type = 'NotificationFailedError';
}

/**
 * An activity call from workflow code this worker does not know (its contract version,
 * lib/workflow-contract.ts, is newer than this worker's): reading its input as this version's
 * could give a wrong count, so the worker runs nothing. Not retried: the same worker would refuse
 * again. An operator's `retry` runs the step again, once the run's own build polls (Worker
 * Versioning pins a run to it) or the old workers are stopped.
 */
export class UnknownContractVersionError extends SegmentationError {
  static override readonly type = 'UnknownContractVersionError';
  static override readonly retryable = false;
}

// The workflow's own failures: raised by the workflow, never by an activity.

/** The audit's "no": not an error of any step, but the same operator wait, where `approve` is also allowed. */
export class AuditHeldError extends SegmentationError {
  static override readonly type = 'AuditHeldError';
  static override readonly retryable = false;
}

/** Another run kept publishing between audits: an operator's retry audits again against what is published now. */
export class PublicationRaceError extends SegmentationError {
  static override readonly type = 'PublicationRaceError';
  static override readonly retryable = false;
  static override readonly retryFrom = 'audit';
}

/** An operator aborted the run. */
export class RunAbortedError extends SegmentationError {
  static override readonly type = 'RunAbortedError';
  static override readonly retryable = false;
}

/** No operator decided within the run's operator wait. */
export class OperatorTimeoutError extends SegmentationError {
  static override readonly type = 'OperatorTimeoutError';
  static override readonly retryable = false;
}

/** The errors activities throw, in the order their retry options list them. */
const ACTIVITY_ERRORS = [
  InvalidWorkbookError,
  InvalidInputError,
  ReconciliationError,
  StagingMissingError,
  WorkbookChangedError,
  PublishedRangeGoneError,
  MessageVersionError,
  InvalidMessageError,
  StaleAttemptError,
  NotificationRejectedError,
  NotificationFailedError,
  UnknownContractVersionError,
];
const RUN_ERRORS = [AuditHeldError, PublicationRaceError, RunAbortedError, OperatorTimeoutError];
/** Every class of the policy. */
export const POLICY_ERRORS: ReadonlyArray<Pick<typeof SegmentationError, 'type' | 'retryable' | 'retryFrom'> & { name: string }> = [...ACTIVITY_ERRORS, ...RUN_ERRORS];

/** The activities' `retry.nonRetryableErrorTypes`: every activity error that retrying cannot mend. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = ACTIVITY_ERRORS.filter((error) => !error.retryable).map((error) => error.type);

/**
 * The policy of a failure by its type (ApplicationFailure.type): any type not listed here (a
 * network error, a crash, a timeout) is infrastructure, retried, and retried from its own step.
 */
export function failurePolicy(type: string): Pick<typeof SegmentationError, 'retryable' | 'retryFrom'> {
  return POLICY_ERRORS.find((error) => error.type === type) ?? SegmentationError;
}

function describeLocation({ file, sheet, row, line, column }: WorkbookLocation): string {
  const parts = [`file "${file}"`];
  if (sheet !== undefined) parts.push(`sheet "${sheet}"`);
  if (row !== undefined) parts.push(`row ${row}`);
  if (line !== undefined) parts.push(`line ${line}`);
  if (column !== undefined) parts.push(`column ${column}`);
  return parts.join(', ');
}
