/**
 * The pipeline's Prometheus metrics, named once (docs/monitoring.md lists them with their labels).
 * They go through the Temporal SDK's metric meter, so a worker serves them on the same endpoint
 * as the SDK's own `temporal_…` metrics (METRICS_ADDRESS, workers/worker-runtime.ts). Where the
 * Runtime has no metrics exporter (METRICS_ADDRESS=off, the tests' in-process workers), the meter
 * is the SDK's no-op one and every call here costs nothing.
 *
 * The served names are exactly these: the exporter adds no `_total` or unit suffix of its own
 * (countersTotalSuffix and unitSuffix are off), so counters carry `_total` in their name here.
 */
import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';
import { DROP_REASONS } from '../cleaning/drop-reason';
import { RUN_EVENTS, type RunEvent } from '../notifications/run-notification';
import type { DataQualityReport } from '../cleaning/data-quality-report';
import type { FrequencyCategory } from '../segmentation/frequency-category';

export const METRIC_NAMES = {
  rowsRead: 'segmentation_rows_read_total',
  rowsKept: 'segmentation_rows_kept_total',
  rowsDropped: 'segmentation_rows_dropped_total',
  stepDuration: 'segmentation_step_duration_seconds',
  messagesPublished: 'segmentation_messages_published_total',
  messagesConsumed: 'segmentation_messages_consumed_total',
  consumerLag: 'segmentation_consumer_lag_messages',
  runs: 'segmentation_runs_total',
  databaseExporter: 'segmentation_database_exporter',
  runsAwaitingOperator: 'segmentation_runs_awaiting_operator',
  runsHeld: 'segmentation_runs_held',
  publishedCustomers: 'segmentation_published_customers',
  lastPublication: 'segmentation_last_publication_timestamp_seconds',
  publishedResultAge: 'segmentation_published_result_age_seconds',
  schedulesPaused: 'segmentation_schedules_paused',
  notifications: 'segmentation_notifications_total',
} as const;

/**
 * How one attempt to post a notification ended: `sent` (2xx), `rejected` (the receiver refused it:
 * not tried again, the notification is lost), `failed` (no answer or a 5xx: tried again for up to an hour).
 */
export const NOTIFICATION_OUTCOMES = ['sent', 'rejected', 'failed'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

/** The outcomes `segmentation_runs_total` counts, as the run's record reaches them. */
export const RUN_OUTCOMES = ['completed', 'superseded', 'held', 'failed', 'cancelled'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/** How one activity attempt of a step ended. */
export type AttemptOutcome = 'completed' | 'failed';

/**
 * Step durations run from a fraction of a second (a small run's bookkeeping) to an hour (a million
 * customers' load): the SDK's default buckets stop at 10.
 */
export const STEP_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** What only the database knows, as the elected worker reads it (workers/database-gauges.ts). */
export interface DatabaseFigures {
  runsAwaitingOperator: number;
  runsHeld: number;
  publishedCustomers: Record<FrequencyCategory, number>;
  /** When customer_segments was last published; null if it never was (the two gauges stay unset). */
  lastPublication: Date | null;
  /** Null when Temporal could not be asked this time: the gauge keeps its last value. */
  schedulesPaused: number | null;
}

export interface PipelineMetrics {
  /** A load activity completed: its sheet's rows read, kept and dropped per reason. */
  rowsLoaded(report: DataQualityReport): void;
  /** One activity attempt of a step ended. */
  stepAttempt(step: string, outcome: AttemptOutcome, seconds: number): void;
  messagesPublished(count: number): void;
  messagesConsumed(count: number): void;
  /** While classify consumes a partition: its range's end offset minus the consumer's position. */
  consumerLag(partition: number, messages: number): void;
  /** The run's record reached this outcome. */
  runReached(outcome: RunOutcome): void;
  /** 1 on the worker elected to export the database gauges, 0 on the others. */
  databaseExporter(elected: boolean): void;
  databaseFigures(figures: DatabaseFigures, now: Date): void;
  /** One attempt to post a notification of this event ended so. */
  notificationAttempt(event: RunEvent, outcome: NotificationOutcome): void;
}

/** One set of instruments per meter: a second worker in the same process shares them. */
const byMeter = new WeakMap<MetricMeter, PipelineMetrics>();

export function pipelineMetrics(meter: MetricMeter): PipelineMetrics {
  let metrics = byMeter.get(meter);
  if (!metrics) {
    metrics = createPipelineMetrics(meter);
    byMeter.set(meter, metrics);
  }
  return metrics;
}

function createPipelineMetrics(meter: MetricMeter): PipelineMetrics {
  const counter = (name: string, description: string): MetricCounter => meter.createCounter(name, '', description);
  const gauge = (name: string, description: string, valueType: 'int' | 'float' = 'int'): MetricGauge => meter.createGauge(name, valueType, '', description);
  const rowsRead = counter(METRIC_NAMES.rowsRead, 'Workbook rows read by completed load activities');
  const rowsKept = counter(METRIC_NAMES.rowsKept, 'Workbook rows kept by the cleaning rules, of completed load activities');
  const rowsDropped = counter(METRIC_NAMES.rowsDropped, 'Workbook rows dropped by the cleaning rules, by the first rule each broke');
  const stepDuration: MetricHistogram = meter.createHistogram(METRIC_NAMES.stepDuration, 'float', '', 'Duration of one activity attempt of a step, by step and outcome');
  const published = counter(METRIC_NAMES.messagesPublished, 'Purchase-count messages Kafka acknowledged to the publish step');
  const consumed = counter(METRIC_NAMES.messagesConsumed, "Run messages the classify step consumed and committed to MySQL");
  const lag = gauge(METRIC_NAMES.consumerLag, "While classify consumes: its range's end offset minus the consumer's position, per partition; 0 once the attempt ends");
  const runs = counter(METRIC_NAMES.runs, "Runs whose record reached this outcome");
  const exporter = gauge(METRIC_NAMES.databaseExporter, 'Whether this worker holds the MySQL lock that elects the one exporting the database gauges');
  const awaiting = gauge(METRIC_NAMES.runsAwaitingOperator, 'Runs waiting for an operator after a failed step (not those held by their audit)');
  const held = gauge(METRIC_NAMES.runsHeld, 'Runs held by their audit, waiting for an operator');
  const customers = gauge(METRIC_NAMES.publishedCustomers, "The published run's customers per frequency category");
  const lastPublication = gauge(METRIC_NAMES.lastPublication, 'Unix time of the last publication of customer_segments', 'float');
  const age = gauge(METRIC_NAMES.publishedResultAge, 'Seconds since the last publication of customer_segments', 'float');
  const paused = gauge(METRIC_NAMES.schedulesPaused, 'Paused schedules that start the customerSegmentation workflow');
  const notifications = counter(METRIC_NAMES.notifications, 'Attempts to post a run notification to NOTIFY_WEBHOOK_URL, by event and outcome');

  // Counters start at 0, so the first event is an increase Prometheus can see (a series that
  // appears at 1 has no earlier sample to differ from).
  for (const metric of [rowsRead, rowsKept, published, consumed]) metric.add(0);
  for (const reason of DROP_REASONS) rowsDropped.add(0, { reason });
  for (const outcome of RUN_OUTCOMES) runs.add(0, { outcome });
  for (const event of RUN_EVENTS) for (const outcome of NOTIFICATION_OUTCOMES) notifications.add(0, { event, outcome });

  return {
    rowsLoaded(report) {
      rowsRead.add(report.rowsRead);
      rowsKept.add(report.rowsKept);
      for (const reason of DROP_REASONS) rowsDropped.add(report.rowsDropped[reason] ?? 0, { reason });
    },
    stepAttempt: (step, outcome, seconds) => stepDuration.record(seconds, { step, outcome }),
    messagesPublished: (count) => published.add(count),
    messagesConsumed: (count) => consumed.add(count),
    consumerLag: (partition, messages) => lag.set(Math.max(0, messages), { partition: String(partition) }),
    runReached: (outcome) => runs.add(1, { outcome }),
    databaseExporter: (elected) => exporter.set(elected ? 1 : 0),
    databaseFigures(figures, now) {
      awaiting.set(figures.runsAwaitingOperator);
      held.set(figures.runsHeld);
      for (const [category, count] of Object.entries(figures.publishedCustomers)) customers.set(count, { category });
      if (figures.lastPublication) {
        lastPublication.set(figures.lastPublication.getTime() / 1000);
        age.set(Math.max(0, (now.getTime() - figures.lastPublication.getTime()) / 1000));
      }
      if (figures.schedulesPaused !== null) paused.set(figures.schedulesPaused);
    },
    notificationAttempt: (event, outcome) => notifications.add(1, { event, outcome }),
  };
}
