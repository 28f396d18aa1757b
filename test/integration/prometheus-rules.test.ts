/**
 * The alert rules (infra/prometheus/alerts.yml) pass `promtool check rules` and their tests
 * (infra/prometheus/alerts.test.yml) pass `promtool test rules`, and those tests cover every
 * alert both ways: series that fire it and series that must not. No server is needed; promtool
 * comes from Debian's prometheus package, installed as `segment stack up prometheus` does when it
 * is missing (why this file is not in the unit project).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ALERT_RULES, ensurePrometheus, prometheusConfig, PROMTOOL } from '../../infra/stack/prometheus-server';
import { runCommand } from '../../infra/stack/run-command';
import { loadStackSettings } from '../../infra/stack/stack-settings';

const RULE_TESTS = path.join(path.dirname(ALERT_RULES), 'alerts.test.yml');

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

const rules = (YAML.parse(fs.readFileSync(ALERT_RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);

beforeAll(async () => {
  await ensurePrometheus((line) => console.log(line));
}, 600_000);

test('promtool check rules accepts alerts.yml', async () => {
  const output = await runCommand(PROMTOOL, ['check', 'rules', ALERT_RULES]);
  expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
});

test('promtool test rules passes alerts.test.yml', async () => {
  const output = await runCommand(PROMTOOL, ['test', 'rules', RULE_TESTS]);
  expect(output).toContain('SUCCESS');
  expect(output).not.toContain('FAILED');
}, 300_000);

test('the rule tests make every alert fire and not fire', () => {
  const tests = (YAML.parse(fs.readFileSync(RULE_TESTS, 'utf8')) as { tests: RuleTest[] }).tests;
  const checks = tests.flatMap((group) => group.alert_rule_test ?? []);
  for (const { alert } of rules) {
    const cases = checks.filter((check) => check.alertname === alert);
    expect({ alert, fires: cases.some((check) => (check.exp_alerts ?? []).length > 0) }).toEqual({ alert, fires: true });
    expect({ alert, quiet: cases.some((check) => (check.exp_alerts ?? []).length === 0) }).toEqual({ alert, quiet: true });
  }
  // A test of an alert that no longer exists tests nothing.
  for (const check of checks) expect(rules.map((rule) => rule.alert)).toContain(check.alertname);
});

test('every alert has a severity, and tells the operator what to run', () => {
  for (const rule of rules) {
    expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(critical|warning)$/) });
    expect(rule.annotations?.summary).toBeTruthy();
    expect({ alert: rule.alert, description: rule.annotations?.description }).toEqual({
      alert: rule.alert,
      description: expect.stringMatching(/`npx segment [a-z]+/),
    });
  }
});

test('the rules on the database gauges only take the elected exporter worker', () => {
  const gauges = ['segmentation_runs_awaiting_operator', 'segmentation_runs_held', 'segmentation_schedules_paused', 'segmentation_last_publication_timestamp_seconds'];
  for (const gauge of gauges) {
    const rule = rules.find((candidate) => candidate.expr.includes(gauge));
    expect({ gauge, joined: rule?.expr.includes('and on (instance) segmentation_database_exporter == 1') }).toEqual({ gauge, joined: true });
  }
});

test('the prometheus.yml the stack writes passes promtool check config, rules included', async () => {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'prometheus-config-'));
  try {
    const file = path.join(dir, 'prometheus.yml');
    const settings = loadStackSettings({ PROMETHEUS_TARGETS: '127.0.0.1:9464,127.0.0.1:9465', PROMETHEUS_ALERTMANAGERS: '127.0.0.1:9093', PROMETHEUS_SCRAPE_INTERVAL: '2s' });
    fs.writeFileSync(file, prometheusConfig(settings.prometheus));
    const output = await runCommand(PROMTOOL, ['check', 'config', file]);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    const config = YAML.parse(fs.readFileSync(file, 'utf8'));
    expect(config.global).toMatchObject({ scrape_interval: '2s', scrape_timeout: '2s' });
    expect(config.scrape_configs[0].static_configs[0]).toEqual({
      targets: ['127.0.0.1:9464', '127.0.0.1:9465'],
      labels: { segmentation_task_queue: settings.prometheus.taskQueue },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
