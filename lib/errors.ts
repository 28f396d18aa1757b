/**
 * Typed errors decide retry behaviour. Bad input (a misshapen workbook, a wrong workflow field)
 * is never retried: retrying cannot fix it. Anything else (Kafka or MySQL down, a crash) is
 * retried with backoff by Temporal.
 *
 * Temporal turns a thrown Error into an ApplicationFailure whose `type` is the error's `name`,
 * so the workflow's retry policies list these names in `nonRetryableErrorTypes`.
 */

/** Where in a workbook a problem was found. Every field is optional but `file`. */
export interface WorkbookLocation {
  file: string;
  sheet?: string;
  row?: number;
  column?: string;
}

export class InvalidWorkbookError extends Error {
  override readonly name = 'InvalidWorkbookError';
  constructor(
    readonly location: WorkbookLocation,
    readonly problem: string,
  ) {
    super(`${describeLocation(location)}: ${problem}`);
  }
}

export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`input field "${field}" ${problem}`);
  }
}

/** published, consumed and written disagree: re-running the same step would not change that. */
export class ReconciliationError extends Error {
  override readonly name = 'ReconciliationError';
}

/** A step re-run (after a reset) needs an earlier step's staging rows, and they were pruned. */
export class StagingMissingError extends Error {
  override readonly name = 'StagingMissingError';
}

/**
 * The workbook is not the file this load started on: resuming by row number would mix two
 * versions. The operator's `retry` re-runs the load from the start, on the file as it is now.
 */
export class WorkbookChangedError extends Error {
  override readonly name = 'WorkbookChangedError';
}

/**
 * Messages a run published were deleted by Kafka (retention, or deleteRecords) before the run
 * consumed them. Consuming again cannot bring them back: they have to be published again.
 */
export class PublishedRangeGoneError extends Error {
  override readonly name = 'PublishedRangeGoneError';
}

/**
 * This attempt was superseded (a newer attempt of the same step, or the run went back to an
 * earlier step) while it was frozen or cut off: it writes nothing. Temporal ignores a superseded
 * attempt's outcome; retrying it could only be superseded again.
 */
export class StaleAttemptError extends Error {
  override readonly name = 'StaleAttemptError';
}

export const NON_RETRYABLE_ERROR_TYPES = [
  'InvalidWorkbookError',
  'InvalidInputError',
  'ReconciliationError',
  'StagingMissingError',
  'WorkbookChangedError',
  'PublishedRangeGoneError',
  'StaleAttemptError',
];

function describeLocation({ file, sheet, row, column }: WorkbookLocation): string {
  const parts = [`file "${file}"`];
  if (sheet !== undefined) parts.push(`sheet "${sheet}"`);
  if (row !== undefined) parts.push(`row ${row}`);
  if (column !== undefined) parts.push(`column ${column}`);
  return parts.join(', ');
}
