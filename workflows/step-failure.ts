/**
 * A step's failure as the run records it, by the failure policy (lib/errors.ts): its type, its
 * message, and where an operator's `retry` starts again.
 */
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import { failurePolicy, ReconciliationError } from '../lib/errors';
import { RECONCILE_RETRIES_FROM_PUBLISH } from './patches';
import type { StepFailure } from './segmentation-progress';
import type { StepName } from './steps';

export function describeFailure(step: StepName, error: unknown, now: number): StepFailure {
  const cause = activityError(error);
  const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'Error';
  return { step, type, message: cause instanceof Error ? cause.message : String(cause), at: new Date(now).toISOString(), retryFrom: retryFrom(step, type) };
}

/** Whether an operator decision can mend the failure at all (not when the input itself is wrong). */
export function waitsForOperator(failure: StepFailure): boolean {
  return failurePolicy(failure.type).retryFrom !== 'never';
}

/** "Type: message" of the error that ended the run (a log line, the run's record). */
export function rootMessage(error: unknown): string {
  const cause = activityError(error);
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(error);
}

/** The type and message of the error that ended a run (the activity's own, not its wrapper). */
export function errorOf(error: unknown): { type: string; message: string } {
  const cause = activityError(error);
  const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'Error';
  return { type, message: cause instanceof Error ? cause.message : String(cause) };
}

function retryFrom(step: StepName, type: string): StepName {
  const from = failurePolicy(type).retryFrom;
  if (from === 'failed-step' || from === 'never') return step;
  // Histories from before this patch retried reconcile itself, and replay so.
  if (type === ReconciliationError.type && !patched(RECONCILE_RETRIES_FROM_PUBLISH)) return step;
  return from;
}

/**
 * The activity's own error, not the "activity failed" wrapper around it. Not `rootCause` from
 * @temporalio/common: that goes on into the error's own causes (a kafkajs "retries exceeded"
 * into its ECONNREFUSED) and gives only the message, where the run records the activity's error
 * with its type.
 */
function activityError(error: unknown): unknown {
  let current = error;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current;
}
