/** A notification's bodies (json and slack) built from a run's facts, and the NOTIFY_* settings. */
import { loadNotificationSettings } from '../../lib/config';
import { commandsFor, runNotification, scrub, slackNotification, type RunEventFacts } from '../../lib/notifications/run-notification';

const LINK = 'http://127.0.0.1:8233/namespaces/default/workflows/nightly-2026-12-01';
const WAITING: RunEventFacts = {
  event: 'awaiting-operator',
  eventId: 'nightly-2026-12-01/exec-1/awaiting-operator/1',
  workflowId: 'nightly-2026-12-01',
  runId: 'run-key-1',
  at: '2026-12-01T02:03:04.000Z',
  step: 'load',
  failure: { type: 'InvalidWorkbookError', message: 'file "orders.xlsx", sheet "Online Retail", row 7, column CustomerID: is not a whole number', retryFrom: 'load' },
  awaitingOperatorUntil: '2026-12-02T02:03:04.000Z',
  published: null,
};
const PUBLISHED: RunEventFacts = {
  ...WAITING,
  event: 'published',
  eventId: 'nightly-2026-12-01/exec-1/published/1',
  step: null,
  failure: null,
  awaitingOperatorUntil: null,
  published: {
    dataDate: '2011-12-09T12:50:00',
    customers: 4338,
    low: 3000,
    high: 1338,
    rowsWritten: 4338,
    segments: [
      { segment: 'Champions', customers: 900, monetary: '4000000.10' },
      { segment: 'Hibernating', customers: 3438, monetary: '911407.80' },
    ],
    moved: { customers: 12, of: 4300, percent: 0.28, comparedWith: 'run-key-0' },
  },
};

test('the json body: the facts, a line for a person, the link, and the decisions as commands', () => {
  const body = runNotification(WAITING, { link: LINK, secrets: [] });
  expect(body).toEqual({
    schema: 1,
    ...WAITING,
    summary: `Step load failed for good (InvalidWorkbookError: ${WAITING.failure!.message}); the run waits for retry or abort until 2026-12-02T02:03:04.000Z.`,
    link: LINK,
    commands: [
      { action: 'retry', command: 'npx segment retry nightly-2026-12-01' },
      { action: 'abort', command: 'npx segment abort nightly-2026-12-01' },
    ],
  });
});

test('each event offers the decisions it can take', () => {
  const actions = (event: RunEventFacts['event']) => commandsFor({ event, workflowId: 'wf' }).map((command) => command.action);
  expect(actions('awaiting-operator')).toEqual(['retry', 'abort']);
  expect(actions('held')).toEqual(['report', 'approve', 'retry', 'abort']);
  expect(actions('failed')).toEqual([]);
  expect(actions('published')).toEqual(['report']);
  // A workflow id a shell would split is quoted.
  expect(commandsFor({ event: 'held', workflowId: "night of 1 Dec's" })[1].command).toBe(`npx segment approve 'night of 1 Dec'\\''s'`);
});

test('a published run: its sizes and the customers who moved, in the summary too', () => {
  const body = runNotification(PUBLISHED, { link: LINK, secrets: [] });
  expect(body.published).toEqual(PUBLISHED.published);
  expect(body.summary).toBe('customer_segments now holds 4,338 customers (3,000 Low Frequency, 1,338 High Frequency), data up to 2011-12-09T12:50:00.');
  const slack = slackNotification(body);
  const texts = JSON.stringify(slack.blocks);
  expect(texts).toContain('RFM segments: Champions 900, Hibernating 3,438.');
  expect(texts).toContain('12 of 4,300 customers published before changed category (0.28%).');
});

test('the slack body: text and blocks, mrkdwn escaped, the link as a Slack link, the commands in a code block', () => {
  const facts: RunEventFacts = { ...WAITING, failure: { ...WAITING.failure!, message: 'sheet "<Sales & Returns>" has no header row' } };
  const slack = slackNotification(runNotification(facts, { link: LINK, secrets: [] }));
  expect(slack.text).toMatch(/^Run waits for an operator: nightly-2026-12-01\. Step load failed for good/);
  expect(slack.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'section', 'section', 'context']);
  const texts = JSON.stringify(slack.blocks);
  expect(texts).toContain('&lt;Sales &amp; Returns&gt;');
  expect(texts).not.toContain('<Sales');
  expect(texts).toContain('```npx segment retry nightly-2026-12-01\\nnpx segment abort nightly-2026-12-01```');
  expect(slack.blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${LINK}|Open in the Temporal UI> · event ${facts.eventId}` }] });
  expect(slack.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Run waits for an operator: nightly-2026-12-01' } });
});

test('a message loses every secret the worker knows (the URL before its own path), and is cut short', () => {
  const url = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
  const message = `connect to ${url} failed; password s3cret-pw; path /services/T000/B000/XXXXSECRET`;
  expect(scrub(message, ['/services/T000/B000/XXXXSECRET', url, 's3cret-pw'])).toBe('connect to [redacted] failed; password [redacted]; path [redacted]');
  const body = runNotification({ ...WAITING, failure: { ...WAITING.failure!, message } }, { link: LINK, secrets: [url, '/services/T000/B000/XXXXSECRET', 's3cret-pw'] });
  expect(JSON.stringify(body)).not.toContain('XXXXSECRET');
  expect(JSON.stringify(body)).not.toContain('s3cret-pw');
  expect(scrub('x'.repeat(5_000), [])).toHaveLength(1_000);
});

test('NOTIFY_* settings: defaults, the URL held as a secret, and clear refusals that never quote the URL', () => {
  expect(loadNotificationSettings({})).toEqual({ format: 'json', on: [] });
  // .env.example's lines as they are: no webhook, nothing posted, no refusal.
  expect(loadNotificationSettings({ NOTIFY_WEBHOOK_FORMAT: 'json', NOTIFY_ON: '' })).toEqual({ format: 'json', on: [] });
  const token = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
  const settings = loadNotificationSettings({ NOTIFY_WEBHOOK_URL: token, NOTIFY_WEBHOOK_FORMAT: 'Slack', NOTIFY_ON: 'published, failed' });
  expect(settings.format).toBe('slack');
  expect(settings.on).toEqual(['published']);
  expect(settings.webhookUrl?.reveal()).toBe(token);
  expect(JSON.stringify(settings)).not.toContain('XXXXSECRET');

  const refusal = (env: Record<string, string>) => {
    try {
      loadNotificationSettings(env);
    } catch (error) {
      return (error as Error).message;
    }
    return 'no error';
  };
  expect(refusal({ NOTIFY_WEBHOOK_URL: token, NOTIFY_WEBHOOK_FORMAT: 'teams' })).toBe('NOTIFY_WEBHOOK_FORMAT must be one of json, slack');
  expect(refusal({ NOTIFY_WEBHOOK_URL: token, NOTIFY_ON: 'published,completed' })).toBe(
    'NOTIFY_ON lists "completed": it may list published (awaiting-operator, held, failed are always posted)',
  );
  expect(refusal({ NOTIFY_ON: 'published' })).toBe('NOTIFY_ON set but NOTIFY_WEBHOOK_URL is not: nothing would be posted');
  expect(refusal({ NOTIFY_WEBHOOK_URL: 'hooks.slack.com/services/T000/B000/XXXXSECRET' })).toBe('NOTIFY_WEBHOOK_URL is not a URL (expected https://host/path)');
  expect(refusal({ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/XXXXSECRET' })).toBe('NOTIFY_WEBHOOK_URL must start with https:// (or http://)');
  expect(refusal({ NOTIFY_WEBHOOK_URL: 'https://user:XXXXSECRET@hooks.example.com/in' })).toMatch(/^NOTIFY_WEBHOOK_URL must not carry a user or password/);
});
