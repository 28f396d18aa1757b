/**
 * What an operator sends to a run that waits after a step failed for good: `retry` runs the
 * failed step (and everything after it) again, `abort` ends the run as failed, publishing nothing.
 * A run its audit held also takes `approve`: it is published as it is, with `by` and `reason`
 * recorded. Sent as a Temporal Update, from the UI or `segment retry|abort|approve WORKFLOW_ID`;
 * the validator turns away a decision the run cannot take, so the sender learns at once.
 */
import { defineUpdate } from '@temporalio/workflow';
import type { StepName } from './steps';

export type OperatorAction = 'retry' | 'abort' | 'approve';

export interface OperatorDecision {
  action: OperatorAction;
  /** Shown in the run's record, e.g. "workbook replaced". */
  reason?: string;
  /** Who decided, e.g. a user name. */
  by?: string;
}

export interface OperatorDecisionReceipt {
  action: OperatorAction;
  /** The step that had failed. */
  step: StepName;
  /** With `retry` and `approve`: the step the run starts again from. */
  retryFrom?: StepName;
}

export const operatorDecisionUpdate = defineUpdate<OperatorDecisionReceipt, [OperatorDecision]>('operatorDecision');

/** Why a decision cannot be taken now, or undefined if it can. */
export function decisionProblem(decision: unknown, status: string, heldByAudit: boolean): string | undefined {
  if (typeof decision !== 'object' || decision === null) return 'send {"action": "retry"}, {"action": "approve"} or {"action": "abort"}';
  const { action, reason, by } = decision as Record<string, unknown>;
  if (action !== 'retry' && action !== 'abort' && action !== 'approve') {
    return `action must be "retry", "approve" or "abort", got ${JSON.stringify(action)}`;
  }
  if ((reason !== undefined && typeof reason !== 'string') || (by !== undefined && typeof by !== 'string')) {
    return '"reason" and "by" must be text';
  }
  if (status !== 'awaiting-operator') return `the run is not waiting for an operator (it is ${status})`;
  if (action === 'approve' && !heldByAudit) return 'only a run held by its audit can be approved; this one waits after a failed step (retry or abort)';
  return undefined;
}
