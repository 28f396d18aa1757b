/**
 * `segment stack up prometheus`'s settings and the prometheus.yml it writes: pure code, no
 * Prometheus (test/integration/prometheus-rules.test.ts has promtool check the file).
 */
import YAML from 'yaml';
import { ALERT_RULES, prometheusConfig, WORKER_JOB } from '../../infra/stack/prometheus-server';
import { loadStackSettings } from '../../infra/stack/stack-settings';

test('by default it serves on 127.0.0.1:9090 and scrapes the workers\' METRICS_ADDRESS every 15 s', () => {
  const { prometheus } = loadStackSettings({});
  expect(prometheus).toEqual({
    address: '127.0.0.1:9090',
    host: '127.0.0.1',
    port: 9090,
    targets: ['127.0.0.1:9464'],
    taskQueue: 'customer-segmentation',
    scrapeInterval: '15s',
    evaluationInterval: '15s',
    alertmanagers: [],
  });
  const config = YAML.parse(prometheusConfig(prometheus));
  expect(config).toEqual({
    global: { scrape_interval: '15s', scrape_timeout: '10s', evaluation_interval: '15s' },
    rule_files: [ALERT_RULES],
    scrape_configs: [{ job_name: WORKER_JOB, static_configs: [{ targets: ['127.0.0.1:9464'], labels: { segmentation_task_queue: 'customer-segmentation' } }] }],
  });
});

test('the targets follow METRICS_ADDRESS (a worker on every interface is scraped on loopback), or PROMETHEUS_TARGETS', () => {
  expect(loadStackSettings({ METRICS_ADDRESS: '127.0.0.1:9500' }).prometheus.targets).toEqual(['127.0.0.1:9500']);
  expect(loadStackSettings({ METRICS_ADDRESS: '0.0.0.0:9464' }).prometheus.targets).toEqual(['127.0.0.1:9464']);
  expect(loadStackSettings({ METRICS_ADDRESS: '[::]:9464' }).prometheus.targets).toEqual(['[::1]:9464']);
  expect(loadStackSettings({ METRICS_ADDRESS: 'off' }).prometheus.targets).toEqual([]);
  expect(loadStackSettings({ METRICS_ADDRESS: 'off', PROMETHEUS_TARGETS: ' worker-1:9464, worker-2:9464 ' }).prometheus.targets).toEqual(['worker-1:9464', 'worker-2:9464']);
  expect(loadStackSettings({ TEMPORAL_TASK_QUEUE: 'nightly' }).prometheus.taskQueue).toBe('nightly');
});

test('short intervals for tests keep the scrape timeout within the interval; Alertmanagers go into alerting', () => {
  const { prometheus } = loadStackSettings({ PROMETHEUS_SCRAPE_INTERVAL: '1s', PROMETHEUS_EVALUATION_INTERVAL: '500ms', PROMETHEUS_ALERTMANAGERS: '127.0.0.1:9093' });
  const config = YAML.parse(prometheusConfig(prometheus));
  expect(config.global).toEqual({ scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '500ms' });
  expect(config.alerting).toEqual({ alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:9093'] }] }] });
});

test('a wrong address or duration is refused, naming the setting', () => {
  expect(() => loadStackSettings({ PROMETHEUS_ADDRESS: '9090' })).toThrow('PROMETHEUS_ADDRESS must be host:port');
  expect(() => loadStackSettings({ PROMETHEUS_TARGETS: 'http://127.0.0.1:9464/metrics' })).toThrow('PROMETHEUS_TARGETS must be host:port');
  expect(() => loadStackSettings({ PROMETHEUS_ALERTMANAGERS: 'alertmanager' })).toThrow('PROMETHEUS_ALERTMANAGERS must be host:port');
  expect(() => loadStackSettings({ PROMETHEUS_SCRAPE_INTERVAL: '15' })).toThrow('PROMETHEUS_SCRAPE_INTERVAL must be a Prometheus duration');
  expect(() => loadStackSettings({ PROMETHEUS_EVALUATION_INTERVAL: '1m30s' })).toThrow('PROMETHEUS_EVALUATION_INTERVAL must be a Prometheus duration');
});
