/**
 * The run's state as the workflow keeps it, beside the query that exposes it. Only counts and
 * statuses live here: the rows themselves stay in MySQL and Kafka.
 */
import { defineQuery } from '@temporalio/workflow';
import type { DataQualityReport } from '../lib/cleaning/data-quality-report';

export const STEPS = ['load', 'aggregate', 'publish', 'classify', 'reconcile'] as const;
export type StepName = (typeof STEPS)[number];

export const STEP_TITLES: Record<StepName, string> = {
  load: 'Load and clean the workbook',
  aggregate: 'Aggregate unique invoices',
  publish: 'Publish purchase counts to Kafka',
  classify: 'Consume and classify',
  reconcile: 'Reconcile',
};

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed';
export type RunStatus = 'running' | 'completed' | 'failed';

export interface StepProgress {
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  seconds?: number;
  counts?: Record<string, number>;
}

export interface RunSummary {
  rowsRead: number;
  rowsKept: number;
  customers: number;
  low: number;
  high: number;
  purchases: number;
  messagesPublished: number;
  customersConsumed: number;
  rowsWritten: number;
  dataQuality: DataQualityReport;
}

export interface SegmentationProgress {
  runId: string;
  status: RunStatus;
  currentStep: StepName | null;
  steps: Record<StepName, StepProgress>;
  summary?: RunSummary;
  error?: string;
}

export const progressQuery = defineQuery<SegmentationProgress>('progress');
