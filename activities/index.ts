/**
 * The activities of the customerSegmentation workflow, one file per step, built by a factory
 * that receives the worker's connections. The workflow imports only the type.
 */
import type { StepName } from '../workflows/steps';
import type { ActivityDependencies } from './activity-dependencies';
import { createAggregatePurchases } from './aggregate-purchases';
import { createAuditRun } from './audit-run';
import { createClassifyCustomers } from './classify-customers';
import { createLoadWorkbookPart } from './load-workbook';
import { createNotifyRun } from './notify-run';
import { createPlanLoad } from './plan-load';
import { createPruneStaging } from './prune-staging';
import { createPublishPurchaseCounts } from './publish-purchase-counts';
import { createPublishSegments } from './publish-segments';
import { createReconcileRun } from './reconcile-run';
import { createRecordRunProgress, createRecordRunStarted } from './record-run';

export function createActivities(dependencies: ActivityDependencies) {
  return {
    recordRunStarted: createRecordRunStarted(dependencies),
    recordRunProgress: createRecordRunProgress(dependencies),
    planLoad: createPlanLoad(dependencies),
    loadWorkbookPart: createLoadWorkbookPart(dependencies),
    aggregatePurchases: createAggregatePurchases(dependencies),
    publishPurchaseCounts: createPublishPurchaseCounts(dependencies),
    classifyCustomers: createClassifyCustomers(dependencies),
    reconcileRun: createReconcileRun(dependencies),
    auditRun: createAuditRun(dependencies),
    publishSegments: createPublishSegments(dependencies),
    pruneStaging: createPruneStaging(dependencies),
    notifyRun: createNotifyRun(dependencies),
  };
}

export type SegmentationActivities = ReturnType<typeof createActivities>;

/**
 * The step each activity works for (the STEP_TABLE name, workflows/steps.ts), as the step
 * duration metric labels it; the run's bookkeeping, which no step owns, is `record`, `prune` and `notify`.
 * Typed over every activity, so a new one cannot go unlabelled.
 */
export const STEP_OF_ACTIVITY: { [Activity in keyof SegmentationActivities]: StepName | 'record' | 'prune' | 'notify' } = {
  recordRunStarted: 'record',
  recordRunProgress: 'record',
  planLoad: 'load',
  loadWorkbookPart: 'load',
  aggregatePurchases: 'aggregate',
  publishPurchaseCounts: 'publish',
  classifyCustomers: 'classify',
  reconcileRun: 'reconcile',
  auditRun: 'audit',
  publishSegments: 'publication',
  pruneStaging: 'prune',
  notifyRun: 'notify',
};
export type { ActivityDependencies } from './activity-dependencies';
