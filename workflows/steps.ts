/**
 * The pipeline's steps, in the order they run: what each is called, what it does (its
 * activities), the figures it shows once done, and how the CLI draws its progress from the
 * heartbeats of its running activities. The workflow runs them top to bottom
 * (customer-segmentation.ts), the Temporal UI's current details list them
 * (describe-progress.ts), and `segment run --wait` / `segment status` draw their bars
 * (cli/run-progress.ts). Adding a step is adding an entry here (and its result to StepResults).
 *
 * Orchestration only: a step's body calls activities and passes on counts and references, never rows.
 */
import { patched } from '@temporalio/workflow';
import type { SegmentationActivities } from '../activities';
import type { AggregateResult } from '../activities/aggregate-purchases';
import type { AuditResult } from '../activities/audit-run';
import type { ClassifyHeartbeat, ClassifyResult } from '../activities/classify-customers';
import type { LoadCheckpoint } from '../activities/load-workbook';
import type { PublishCheckpoint, PublishResult } from '../activities/publish-purchase-counts';
import type { PublishSegmentsResult } from '../activities/publish-segments';
import type { ReconcileResult } from '../activities/reconcile-run';
import { describeFailedChecks } from '../lib/audit/audit-checks';
import { mergeDataQualityReports, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { AuditHeldError } from '../lib/errors';
import { inParallel } from './in-parallel';
import type { OperatorDecision } from './operator-decision';
import { mergePublishedRanges, partitionGroups } from './partition-groups';
import { AUDIT_BEFORE_PUBLICATION, LOAD_IN_TURNS, PUBLISH_IN_SLICES } from './patches';
import type { StepActivities } from './step-activities';
import type { ResolvedInput } from './segmentation-input';
import { dataDateOf } from './data-date';
import type { SegmentationProgress } from './segmentation-progress';

/** What each step hands to the later ones: counts and references only. */
export interface StepResults {
  load: DataQualityReport;
  aggregate: AggregateResult;
  publish: PublishResult;
  classify: ClassifyResult;
  reconcile: ReconcileResult;
  audit: AuditResult;
  publication: PublishSegmentsResult;
}

export type StepName = keyof StepResults;

/** What a step's body is given: the run, its input, what the earlier steps handed on, and where to show progress mid-step. */
export interface StepRun {
  /** The run's key in MySQL (its first execution's run id). */
  readonly runId: string;
  /** When the run started (ISO): among runs of the same data, the later one is published. */
  readonly startedAt: string;
  /** The time the run is for (ISO): the schedule's slot if a schedule started it, else its start. */
  readonly scheduledAt: string;
  /** Whether a schedule started it (so scheduledAt is a night's slot). */
  readonly scheduled: boolean;
  readonly input: ResolvedInput;
  readonly activities: StepActivities;
  /** False in runs from before the audit step: reconcile publishes, and there is no audit. */
  readonly audits: boolean;
  /** What the steps done so far handed on. */
  readonly results: Partial<StepResults>;
  /** The run's progress as the workflow shows it now. */
  readonly progress: SegmentationProgress;
  /** Set by an operator's `approve`: the held run is published as it is. */
  readonly approval?: OperatorDecision;
  /** Shows what a step learned on its way (the files read, the offsets published) at once. */
  note(facts: Partial<Pick<SegmentationProgress, 'files' | 'missingFiles' | 'rfmRules' | 'dataQuality' | 'invoices' | 'publishedOffsets' | 'audit'>>): void;
  /** While a step fans out: adds what one of its activities did when it finishes. */
  addCounts(step: StepName, done: Record<string, number>): void;
}

/** A bar of the CLI's: how far along a running step is, and the figures beside it. */
export interface StepBarFigures {
  value: number;
  total: number;
  figures: Record<string, number>;
}

/** A step whose activities heartbeat: which activity, and its bar from the running ones' latest heartbeats. */
export interface StepHeartbeats {
  activity: keyof SegmentationActivities;
  /** The bar; undefined when there is nothing to measure against yet. */
  bar(progress: SegmentationProgress, counts: Record<string, number>, running: unknown[]): StepBarFigures | undefined;
}

export interface StepDefinition<S extends StepName> {
  /** Shown in the current details, the CLI's bars, and as the summary of its (single) activity. */
  title: string;
  /** Set for steps that runs from before that patch do not have. */
  addedBy?: string;
  run(run: StepRun, title: string): Promise<StepResults[S]>;
  /** The figures the step shows once done (queries, current details, the run's record). */
  counts(result: StepResults[S], run: StepRun): Record<string, number>;
  heartbeats?: StepHeartbeats;
}

/** Heartbeat fields of one activity type, typed where they are read. */
function heartbeats<Heartbeat>(activity: keyof SegmentationActivities, bar: (progress: SegmentationProgress, counts: Record<string, number>, running: Heartbeat[]) => StepBarFigures | undefined): StepHeartbeats {
  return { activity, bar: (progress, counts, running) => bar(progress, counts, running as Heartbeat[]) };
}

const sum = <T>(items: readonly T[], value: (item: T) => number) => items.reduce((total, item) => total + value(item), 0);

export const STEP_TABLE: { [S in StepName]: StepDefinition<S> } = {
  load: {
    title: 'Load and clean the workbook',
    async run(run) {
      const { runId, input } = run;
      const plan = await run.activities.planLoad.executeWithOptions({ summary: `Find the workbooks: ${input.files.join(', ')}` }, [
        { runId, files: input.files, sheet: input.sheet, reader: input.reader, scheduledAt: run.scheduledAt, timezone: input.timezone, mode: input.mode, rfmRules: input.rfmRules },
      ]);
      run.note({ files: plan.files, ...(plan.missingFiles?.length ? { missingFiles: plan.missingFiles } : {}), ...(plan.rfmRules ? { rfmRules: plan.rfmRules } : {}) });
      const inFlight = patched(LOAD_IN_TURNS) ? input.loadActivities : Infinity;
      const parts = await inParallel(
        plan.parts.map((part) => async () => {
          const report = await run.activities.loadWorkbookPart.executeWithOptions({ summary: `Load and clean ${part.file} / ${part.sheet}` }, [
            { runId, ...part, reader: input.reader, fileNo: plan.files.findIndex((file) => file.file === part.file) },
          ]);
          run.addCounts('load', { sheetsLoaded: 1, rowsRead: report.rowsRead, rowsKept: report.rowsKept });
          return { file: part.file, sheet: part.sheet, report };
        }),
        inFlight,
      );
      const dataQuality = mergeDataQualityReports(parts, plan.skippedSheets);
      run.note({ dataQuality });
      return dataQuality;
    },
    counts: (report) => ({ rowsRead: report.rowsRead, rowsKept: report.rowsKept }),
    // Each sheet counts as one share of the bar: the finished ones whole, the running ones by bytes read.
    heartbeats: heartbeats<LoadCheckpoint>('loadWorkbookPart', (progress, counts, running) => {
      const sheets = sum(progress.files ?? [], (file) => file.sheets.length);
      if (sheets === 0) return undefined;
      return {
        value: Math.round(1000 * ((counts.sheetsLoaded ?? 0) + sum(running, (part) => part.bytesRead / (part.totalBytes || 1)))),
        total: 1000 * sheets,
        figures: {
          rowsRead: (counts.rowsRead ?? 0) + sum(running, (part) => part.report.rowsRead),
          rowsKept: (counts.rowsKept ?? 0) + sum(running, (part) => part.report.rowsKept),
        },
      };
    }),
  },

  aggregate: {
    title: 'Aggregate unique invoices',
    async run(run, title) {
      const { input } = run;
      const aggregated = await run.activities.aggregatePurchases.executeWithOptions({ summary: input.mode === 'append' ? `${title} over the invoice ledger` : title }, [
        {
          runId: run.runId,
          rowsKept: run.results.load!.rowsKept,
          files: (run.progress.files ?? []).length,
          mode: input.mode,
          window: input.window,
          // A scheduled night with no export (no file given, or tonight's not there) still moves the
          // data date, so the window ages customers out.
          nightWithoutFile: input.mode === 'append' && (run.progress.files ?? []).length === 0 && run.scheduled ? { scheduledAt: run.scheduledAt, timezone: input.timezone } : null,
          sourceAt: run.scheduledAt,
          asOf: input.asOf,
          rfmRules: input.rfmRules,
          // The map as the plan read it (runs planned before that read the file here).
          rules: run.progress.rfmRules,
        },
      ]);
      if (aggregated.invoices) run.note({ invoices: aggregated.invoices });
      return aggregated;
    },
    counts: (result) => ({
      customers: result.customers,
      purchases: result.purchases,
      ...(result.invoices?.mode === 'append' ? { invoicesAdded: result.invoices.added!, invoicesReplaced: result.invoices.replaced! } : {}),
      ...(result.invoices && result.invoices.window !== 'all' ? { invoicesOutsideWindow: result.invoices.outsideWindow } : {}),
    }),
  },

  publish: {
    title: 'Publish purchase counts to Kafka',
    async run(run, title) {
      const { runId, input } = run;
      // Runs started before publish fanned out replay as one activity.
      if (!patched(PUBLISH_IN_SLICES)) {
        const published = await run.activities.publishPurchaseCounts.executeWithOptions({ summary: title }, [{ runId, chunkSize: input.chunkSize }]);
        run.note({ publishedOffsets: published.ranges });
        return published;
      }
      const of = input.publishActivities;
      const parts = await inParallel(
        Array.from({ length: of }, (_, index) => async () => {
          const summary = of > 1 ? `Publish customers ${index} mod ${of}` : title;
          const result = await run.activities.publishPurchaseCounts.executeWithOptions({ summary }, [{ runId, chunkSize: input.chunkSize, slice: { index, of } }]);
          run.addCounts('publish', { slicesDone: 1, messagesPublished: result.messagesPublished });
          return result;
        }),
      );
      const published: PublishResult = {
        messagesPublished: sum(parts, (part) => part.messagesPublished),
        chunks: sum(parts, (part) => part.chunks),
        ranges: mergePublishedRanges(parts.map((part) => part.ranges)),
      };
      run.note({ publishedOffsets: published.ranges });
      return published;
    },
    counts: (result) => ({ messagesPublished: result.messagesPublished, chunks: result.chunks }),
    // The finished slices' counts, and the running ones' heartbeats.
    heartbeats: heartbeats<PublishCheckpoint>('publishPurchaseCounts', (progress, counts, running) => {
      const published = (counts.messagesPublished ?? 0) + sum(running, (slice) => slice.messagesPublished);
      return { value: published, total: progress.steps.aggregate.counts?.customers || 1, figures: { messagesPublished: published } };
    }),
  },

  classify: {
    title: 'Consume and classify',
    async run(run) {
      const { runId, input } = run;
      const groups = partitionGroups(run.results.publish!.ranges, input.classifyActivities);
      const parts = await inParallel(
        groups.map((ranges) => async () => {
          const result = await run.activities.classifyCustomers.executeWithOptions(
            { summary: `Consume and classify partition${ranges.length > 1 ? 's' : ''} ${ranges.map((r) => r.partition).join(', ')}` },
            [{ runId, threshold: input.threshold, batchSize: input.classifyBatchSize, ranges }],
          );
          run.addCounts('classify', { groupsDone: 1, messagesConsumed: result.messagesConsumed });
          return result;
        }),
      );
      // Each group has partitions of its own, so their counts add up.
      return { messagesConsumed: sum(parts, (part) => part.messagesConsumed) };
    },
    counts: (result) => ({ messagesConsumed: result.messagesConsumed }),
    heartbeats: heartbeats<ClassifyHeartbeat>('classifyCustomers', (progress, counts, running) => {
      const consumed = (counts.messagesConsumed ?? 0) + sum(running, (group) => group.messagesConsumed);
      return { value: consumed, total: progress.steps.aggregate.counts?.customers || 1, figures: { messagesConsumed: consumed } };
    }),
  },

  reconcile: {
    title: 'Reconcile published, consumed and written',
    run: (run, title) => {
      const { aggregate, publish, classify } = run.results;
      return run.activities.reconcileRun.executeWithOptions({ summary: run.audits ? title : 'Reconcile and publish results' }, [
        {
          runId: run.runId,
          runStartedAt: run.startedAt,
          checkOnly: run.audits || undefined,
          threshold: run.input.threshold,
          customers: aggregate!.customers,
          purchases: aggregate!.purchases,
          messagesPublished: publish!.messagesPublished,
          messagesConsumed: classify!.messagesConsumed,
        },
      ]);
    },
    // Runs from before the audit step published here, and show the rows they wrote.
    counts: (result, run): Record<string, number> =>
      run.audits
        ? { customersConsumed: result.customersConsumed, low: result.low, high: result.high }
        : { customersConsumed: result.customersConsumed, rowsWritten: result.rowsWritten, low: result.low, high: result.high },
  },

  audit: {
    title: 'Audit against the published result',
    addedBy: AUDIT_BEFORE_PUBLICATION,
    async run(run, title) {
      const { rowsRead, rowsKept } = run.results.load!;
      const audited = await run.activities.auditRun.executeWithOptions({ summary: title }, [
        {
          runId: run.runId,
          runStartedAt: run.startedAt,
          dataDate: dataDateOf(run.progress),
          mode: run.input.mode,
          runFor: run.scheduledAt,
          limits: run.input.audit,
          customers: run.results.aggregate!.customers,
          high: run.results.reconcile!.high,
          rowsRead,
          rowsKept,
        },
      ]);
      run.note({ audit: audited });
      // Held: the operator wait, where `approve` is also allowed.
      if (audited.outcome === 'held') throw new AuditHeldError(`the audit holds this run: ${describeFailedChecks(audited).join('; ')}`).toFailure();
      return audited;
    },
    // A superseded run compared nothing: no figures to show.
    counts: (result): Record<string, number> =>
      result.superseded
        ? {}
        : {
            checksFailed: result.checks.filter((check) => check.outcome === 'failed').length,
            checksPassed: result.checks.filter((check) => check.outcome === 'passed').length,
          },
  },

  publication: {
    title: 'Publish to customer_segments',
    addedBy: AUDIT_BEFORE_PUBLICATION,
    run: (run, title) =>
      run.activities.publishSegments.executeWithOptions({ summary: title }, [
        {
          runId: run.runId,
          runStartedAt: run.startedAt,
          dataDate: dataDateOf(run.progress),
          customers: run.results.aggregate!.customers,
          mode: run.input.mode,
          ledgerVersion: run.results.aggregate!.invoices?.ledgerVersion,
          invoices: run.results.aggregate!.invoices?.invoices,
          sourceAt: run.scheduledAt,
          night: run.results.aggregate!.invoices?.night,
          kind: run.approval ? 'approved' : run.input.audit === null ? 'audit-off' : 'audit-passed',
          auditedAgainst: run.progress.audit?.comparedWith ?? null,
          by: run.approval?.by,
          reason: run.approval?.reason,
        },
      ]),
    // A superseded publication wrote nothing (to customer_segments: an append run still merged its invoices).
    counts: (result): Record<string, number> => ({
      rowsWritten: result.outcome === 'published' ? result.rowsWritten : 0,
      ...(result.outcome === 'published' || result.outcome === 'superseded' ? (result.invoicesMerged === undefined ? {} : { invoicesMerged: result.invoicesMerged }) : {}),
    }),
  },
};

/** Every step, in pipeline order. */
export const STEPS = Object.keys(STEP_TABLE) as StepName[];

/** The steps a run takes: runs from before the audit step (audit-before-publication) end with reconcile. */
export function stepsOf(audits: boolean): StepName[] {
  return STEPS.filter((step) => audits || STEP_TABLE[step].addedBy === undefined);
}
