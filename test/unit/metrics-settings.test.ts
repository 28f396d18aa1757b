/** The pure parts of the metrics: METRICS_ADDRESS, the lock's name, which records count as which run outcome, the step labels, the text served. */
import { noopMetricMeter } from '@temporalio/common';
import { runOutcomeOf } from '../../activities/record-run';
import { STEP_OF_ACTIVITY } from '../../activities';
import { loadConfig, parseMetricsAddress } from '../../lib/config';
import { pipelineMetrics } from '../../lib/metrics/pipeline-metrics';
import { databaseGaugesLockName } from '../../workers/database-gauges';
import { STEPS } from '../../workflows/steps';
import { parsePrometheusText } from '../support/prometheus-scrape';

test('METRICS_ADDRESS: 127.0.0.1:9464 by default, off, or IP:PORT as the exporter binds it', () => {
  expect(loadConfig({}).metricsAddress).toBe('127.0.0.1:9464');
  expect(loadConfig({ METRICS_ADDRESS: 'off' }).metricsAddress).toBeNull();
  expect(loadConfig({ METRICS_ADDRESS: ' OFF ' }).metricsAddress).toBeNull();
  for (const address of ['0.0.0.0:9464', '10.1.2.3:1', '[::]:9464', '[::1]:65535']) expect(parseMetricsAddress(address)).toBe(address);
});

test('METRICS_DATABASE_REFRESH_SECONDS: 15 by default, 1 to 30 (the lock session lapses after 60 s of silence)', () => {
  expect(loadConfig({}).databaseGaugesEverySeconds).toBe(15);
  expect(loadConfig({ METRICS_DATABASE_REFRESH_SECONDS: '1' }).databaseGaugesEverySeconds).toBe(1);
  expect(loadConfig({ METRICS_DATABASE_REFRESH_SECONDS: '30' }).databaseGaugesEverySeconds).toBe(30);
  expect(() => loadConfig({ METRICS_DATABASE_REFRESH_SECONDS: '31' })).toThrow(/^METRICS_DATABASE_REFRESH_SECONDS must be 1 to 30/);
  expect(() => loadConfig({ METRICS_DATABASE_REFRESH_SECONDS: '0' })).toThrow(/^METRICS_DATABASE_REFRESH_SECONDS must be a positive integer/);
  expect(() => loadConfig({ METRICS_DATABASE_REFRESH_SECONDS: '2.5' })).toThrow(/must be a positive integer/);
});

test('a METRICS_ADDRESS the exporter cannot bind is refused with the form it takes', () => {
  const form = /^METRICS_ADDRESS must be IP:PORT \(e\.g\. 127\.0\.0\.1:9464, 0\.0\.0\.0:9464 or \[::\]:9464\) or off; /;
  expect(() => parseMetricsAddress('localhost:9464')).toThrow(/"localhost:9464" names a host: use 127\.0\.0\.1$/);
  expect(() => parseMetricsAddress('localhost:9464')).toThrow(form);
  expect(() => parseMetricsAddress('metrics.example.com:9464')).toThrow(/does not start with an IP address$/);
  expect(() => parseMetricsAddress('9464')).toThrow(/"9464" is not of that form$/);
  expect(() => parseMetricsAddress(':9464')).toThrow(/is not of that form$/);
  expect(() => parseMetricsAddress('127.0.0.1')).toThrow(/is not of that form$/);
  expect(() => parseMetricsAddress('::1:9464')).toThrow(/does not start with an IP address|is not of that form/);
  expect(() => parseMetricsAddress('127.0.0.1:0')).toThrow(/has no port between 1 and 65535$/);
  expect(() => parseMetricsAddress('127.0.0.1:70000')).toThrow(/has no port between 1 and 65535$/);
  expect(() => parseMetricsAddress('256.0.0.1:9464')).toThrow(/does not start with an IP address$/);
  expect(() => loadConfig({ METRICS_ADDRESS: 'on' })).toThrow(form);
});

test("the database gauges' lock is named after the database, within MySQL's 64 characters", () => {
  expect(databaseGaugesLockName('segmentation')).toBe('segmentation-gauges:segmentation');
  expect(databaseGaugesLockName('a')).not.toBe(databaseGaugesLockName('b'));
  const long = 'x'.repeat(64);
  expect(databaseGaugesLockName(long)).toHaveLength(64);
  expect(databaseGaugesLockName(long)).not.toBe(databaseGaugesLockName(`${'x'.repeat(63)}y`));
});

test('which records count as which run outcome: final statuses, and a wait the audit caused as held', () => {
  expect(runOutcomeOf({ status: 'running' })).toBeUndefined();
  expect(runOutcomeOf({ status: 'completed' })).toBe('completed');
  expect(runOutcomeOf({ status: 'superseded' })).toBe('superseded');
  expect(runOutcomeOf({ status: 'failed' })).toBe('failed');
  expect(runOutcomeOf({ status: 'cancelled' })).toBe('cancelled');
  const failure = { step: 'audit' as const, message: 'held', at: '2026-01-01T00:00:00.000Z', retryFrom: 'audit' as const };
  expect(runOutcomeOf({ status: 'awaiting-operator', failure: { ...failure, type: 'AuditHeldError' } })).toBe('held');
  // Waiting after a failed step is a gauge (segmentation_runs_awaiting_operator), not an outcome.
  expect(runOutcomeOf({ status: 'awaiting-operator', failure: { ...failure, step: 'classify', type: 'PublishedRangeGoneError' } })).toBeUndefined();
});

test("every step of the table labels at least one activity's durations", () => {
  const labelled = new Set(Object.values(STEP_OF_ACTIVITY));
  for (const step of STEPS) expect([step, labelled.has(step)]).toEqual([step, true]);
});

test('the no-op meter takes every call (workers without an endpoint), and one meter gets one set of instruments', () => {
  const metrics = pipelineMetrics(noopMetricMeter);
  expect(pipelineMetrics(noopMetricMeter)).toBe(metrics);
  expect(() => {
    metrics.rowsLoaded({ rowsRead: 3, rowsKept: 2, rowsDropped: { missingCustomerId: 1, missingInvoiceNo: 0, cancellation: 0, nonPositiveQuantity: 0, nonPositiveUnitPrice: 0 } });
    metrics.stepAttempt('load', 'completed', 0.5);
    metrics.consumerLag(3, -1);
    metrics.databaseFigures({ runsAwaitingOperator: 0, runsHeld: 0, publishedCustomers: { 'Low Frequency': 1, 'High Frequency': 0 }, lastPublication: null, schedulesPaused: null }, new Date());
  }).not.toThrow();
});

test("the tests' reader of the text format: names, labels with escapes, values", () => {
  const scraped = parsePrometheusText(
    ['# HELP x y', '# TYPE x counter', 'a_total 3', 'b{category="Low Frequency",q="say \\"hi\\""} 1.5', 'c_bucket{le="+Inf"} 2', ''].join('\n'),
  );
  expect(scraped.value('a_total')).toBe(3);
  expect(scraped.value('b', { category: 'Low Frequency' })).toBe(1.5);
  expect(scraped.find('b')[0].labels.q).toBe('say "hi"');
  expect(scraped.value('c_bucket', { le: '+Inf' })).toBe(2);
  expect(scraped.value('missing')).toBeUndefined();
});
