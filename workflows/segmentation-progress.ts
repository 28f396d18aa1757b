/**
 * The run's state as the workflow keeps it, beside the query that exposes it. Only counts,
 * statuses and references live here: the rows themselves stay in MySQL and Kafka.
 */
import type { SegmentSize } from '../activities/reconcile-run';
import type { RfmRules } from '../lib/segmentation/rfm-rules';
import { defineQuery } from '@temporalio/workflow';
import type { AuditReport } from '../lib/audit/audit-checks';
import type { DataQualityReport } from '../lib/cleaning/data-quality-report';
import type { PartitionRange } from '../lib/partition-range';
import type { RunMode } from './segmentation-input';
import { STEPS, type StepName } from './steps';

/** The steps are named by the step table (steps.ts); exported here too for the code that reads a run's progress. */
export type { StepName };

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed';

/**
 * - awaiting-operator: a step failed for good, or the audit held the run; it waits for an operator.
 * - superseded: reconciled, but a run with newer data (or the same data, started later) is published.
 */
export type RunStatus = 'running' | 'awaiting-operator' | 'completed' | 'superseded' | 'failed' | 'cancelled';
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'superseded', 'failed', 'cancelled'];

export interface StepProgress {
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  seconds?: number;
  counts?: Record<string, number>;
  /** How many times the step was started: more than 1 after an operator's retry. */
  runs?: number;
  error?: string;
}

/** A workbook as the run read it: the bytes are identified, so a retry can tell if they changed. */
export interface WorkbookFingerprint {
  /** Path relative to DATA_DIR, after filling in `{date}` or matching a pattern. */
  file: string;
  size: number;
  mtime: string;
  sha256: string;
  /** The transaction sheets read, in workbook order. */
  sheets: string[];
}


export interface StepFailure {
  step: StepName;
  /** The error's type, e.g. InvalidWorkbookError, or the last infrastructure error. */
  type: string;
  message: string;
  at: string;
  /** Where an operator's `retry` starts again: the failed step, or an earlier one that must run again. */
  retryFrom: StepName;
}

export interface OperatorDecisionRecord {
  action: 'retry' | 'abort' | 'approve';
  step: StepName;
  at: string;
  by?: string;
  reason?: string;
}

export interface RunSummary {
  rowsRead: number;
  rowsKept: number;
  customers: number;
  low: number;
  high: number;
  purchases: number;
  messagesPublished: number;
  /** The run's messages read back from Kafka (a chunk re-sent after a crash counts twice). */
  messagesConsumed: number;
  /** Distinct customers read back from Kafka and written to the run's history. */
  customersConsumed: number;
  /** Rows this run put into customer_segments (0 if superseded). */
  rowsWritten: number;
  /** Whether this run's result is now in customer_segments (false: superseded by a newer run). */
  published: boolean;
  /** When superseded: the run whose result stays in customer_segments. */
  supersededBy?: string;
  /** The data's own date, which orders publication (dataDateOf). */
  dataDate: string | null;
  /** The run's invoices, its window and the ledger; absent in runs from before windows. */
  invoices?: RunInvoiceFigures;
  /** Customers and Monetary per RFM segment, the largest first; absent in runs from before RFM. */
  segments?: SegmentSize[];
  dataQuality: DataQualityReport;
}

/** The run's invoices against its window and, in append mode, the invoice ledger (after the aggregate step). */
export interface RunInvoiceFigures {
  mode: RunMode;
  window: string;
  /** The first instant inside the window (ISO, no zone); null: every invoice counts. */
  windowStart: string | null;
  /** The data date the window counts back from (see dataDateOf). */
  dataDate: string | null;
  /** The run's own distinct invoices: what its files held. */
  invoices: number;
  /** Invoices (the run's; append: the merged ledger's) before the window, so not counted. */
  outsideWindow: number;
  /** The date range of those invoices (append: of the ledger after the merge). */
  oldest: string | null;
  newest: string | null;
  /** The day RecencyDays counts to (YYYY-MM-DD), and where the segment map came from; absent in runs from before RFM. */
  asOf?: string | null;
  rfmRules?: string;
  rfmRulesSha256?: string;
  /**
   * Append mode: the run's invoices new to the ledger, those that replace a row, and those the
   * ledger keeps because its row came from an export for a later time (a held night approved late).
   */
  added?: number;
  replaced?: number;
  olderThanLedger?: number;
  /** Append mode, a scheduled night with no file: that night (ISO), which the data date reaches at least. */
  night?: string;
  /** Append mode: the ledger's invoices once this run has merged, and the version it read. */
  ledgerInvoices?: number;
  ledgerVersion?: number;
}

/** The audit as the run keeps it: the checks' figures, and an operator's approval if one was needed. */
export interface RunAudit extends AuditReport {
  /** A run with newer data was published: nothing was compared, the run is superseded. */
  superseded?: boolean;
  approval?: { by?: string; reason?: string; at: string };
}

export interface SegmentationProgress {
  /** The run's key in MySQL: its first execution's run id, kept across resets, never reused. */
  runId: string;
  workflowId: string;
  status: RunStatus;
  currentStep: StepName | null;
  steps: Record<StepName, StepProgress>;
  /** The workbooks read, with their fingerprints (after the load step has started). */
  files?: WorkbookFingerprint[];
  /** Append mode: the files (after `{date}`) that were not there: a night with no export. */
  missingFiles?: string[];
  /** The RFM segment map, read and checked once when the load is planned; the aggregate step uses this copy. */
  rfmRules?: RfmRules;
  /** Rows read, kept and dropped per reason (after the load step). */
  dataQuality?: DataQualityReport;
  /** The run's invoices, its window and the ledger (after the aggregate step). */
  invoices?: RunInvoiceFigures;
  publishedOffsets?: PartitionRange[];
  /** After the audit step: what each check saw (published against this run). */
  audit?: RunAudit;
  summary?: RunSummary;
  /** While awaiting an operator, or after the run failed: what failed. */
  failure?: StepFailure;
  /** While awaiting an operator: until when it waits. */
  awaitingOperatorUntil?: string;
  decisions: OperatorDecisionRecord[];
  error?: string;
  /**
   * The sequence number of the record last sent to MySQL (see nextRecordSequence): the run's row
   * takes a record only if its number is higher than the one it holds. Absent before the
   * workflow sequenced its records.
   */
  recordSequence?: number;
}

/**
 * Sequence numbers per millisecond of workflow time. A record's number is its workflow time in
 * ms times this, or one more than the previous record's if that is higher: strictly increasing
 * within a run, and after a reset (whose new execution replays the old numbers up to the reset
 * point) the new records still outnumber every old one, because their workflow time is later.
 */
export const RECORD_SEQUENCES_PER_MS = 1000;

export function nextRecordSequence(previous: number | undefined, nowMs: number): number {
  return Math.max((previous ?? 0) + 1, nowMs * RECORD_SEQUENCES_PER_MS);
}

export const progressQuery = defineQuery<SegmentationProgress>('progress');

export function newProgress(runId: string, workflowId: string): SegmentationProgress {
  return {
    runId,
    workflowId,
    status: 'running',
    currentStep: null,
    steps: Object.fromEntries(STEPS.map((step) => [step, { status: 'pending' }])) as SegmentationProgress['steps'],
    decisions: [],
  };
}
