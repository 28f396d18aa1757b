/**
 * What a notification says about a run, and the two bodies it is posted as: `json` (the event
 * itself, for any receiver) and `slack` (an incoming webhook's `text` and `blocks`). Pure: the
 * workflow hands the facts to the activity (activities/notify-run.ts), which builds the body here
 * and posts it. docs/notifications.md shows both bodies.
 *
 * A body holds no secret: no URL of the webhook, no password, no workbook content. Failure
 * messages are the pipeline's own (they name a file, sheet, row and column, not cell values);
 * they are cut short, and every secret the worker knows is taken out of them all the same.
 */

/** The events a run notifies: it waits for an operator (a step failed for good), its audit held it, it failed, it was published. */
export const RUN_EVENTS = ['awaiting-operator', 'held', 'failed', 'published'] as const;
export type RunEvent = (typeof RUN_EVENTS)[number];

/** The body's version: a receiver can tell a later shape from this one. */
export const NOTIFICATION_SCHEMA = 1;

/** A failure message is cut to this many characters. */
const MAX_MESSAGE_CHARS = 1_000;

/** What the workflow knows when the event happens: counts, ids and its own messages, never rows. */
export interface RunEventFacts {
  event: RunEvent;
  /**
   * Stable for one event: workflowId, the execution's run id, the event and its sequence (the n-th
   * operator wait of the execution). Sent as the `Idempotency-Key` header too, so a receiver can
   * drop the double of a post whose answer was lost.
   */
  eventId: string;
  workflowId: string;
  /** The run's key in MySQL (its first execution's run id). */
  runId: string;
  /** When it happened (workflow time, ISO). */
  at: string;
  /** The step that failed (or held); null when the run failed before any step, and for a publication. */
  step: string | null;
  /** awaiting-operator, held: the step's failure. failed: the error that ended the run. */
  failure: { type: string; message: string; retryFrom?: string } | null;
  /** awaiting-operator, held: until when the run waits (ISO). */
  awaitingOperatorUntil: string | null;
  published: PublishedRunFacts | null;
}

/** A published run's summary: its segment sizes and the customers who changed category. */
export interface PublishedRunFacts {
  /** The data's own date (its newest kept invoice), ISO without a zone. */
  dataDate: string | null;
  customers: number;
  low: number;
  high: number;
  rowsWritten: number;
  /** Customers and Monetary per RFM segment, the largest first (absent in runs from before RFM). */
  segments: Array<{ segment: string; customers: number; monetary: string }>;
  /**
   * Of the customers published before, how many this run puts in the other category, as the
   * audit counted them against the run it compared with; null when nothing was compared (nothing
   * published before, or the audit was off).
   */
  moved: { customers: number; of: number; percent: number; comparedWith: string } | null;
}

export interface DecisionCommand {
  action: 'retry' | 'approve' | 'abort' | 'report';
  command: string;
}

/** The `json` body. */
export interface RunNotification extends Omit<RunEventFacts, 'published'> {
  schema: typeof NOTIFICATION_SCHEMA;
  /** One line for a person: what happened and what to do. */
  summary: string;
  /** The run in the Temporal Web UI. */
  link: string;
  /** What an operator can run now (`npx segment ...`). */
  commands: DecisionCommand[];
  published: PublishedRunFacts | null;
}

/** The `slack` body: an incoming webhook's fallback text and its Block Kit blocks. */
export interface SlackNotification {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export interface NotificationContext {
  /** The run's page in the Temporal UI (lib/temporal-ui-link.ts). */
  link: string;
  /** Values never to appear in a body (passwords, the webhook's URL and its path). */
  secrets: readonly string[];
}

/** The event as the `json` body says it. */
export function runNotification(facts: RunEventFacts, context: NotificationContext): RunNotification {
  const failure = facts.failure && { ...facts.failure, message: scrub(facts.failure.message, context.secrets) };
  const scrubbed = { ...facts, failure };
  return {
    schema: NOTIFICATION_SCHEMA,
    ...scrubbed,
    summary: summaryOf(scrubbed),
    link: context.link,
    commands: commandsFor(facts),
  };
}

/** The same event as a Slack incoming webhook takes it. */
export function slackNotification(notification: RunNotification): SlackNotification {
  const title = `${TITLES[notification.event]}: ${notification.workflowId}`;
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: slackEscape(notification.summary) } },
  ];
  const fields = [
    ['Workflow', notification.workflowId],
    ['Run', notification.runId],
    ...(notification.step ? [['Step', notification.step]] : []),
    ...(notification.failure ? [['Failure', notification.failure.type]] : []),
    ...(notification.awaitingOperatorUntil ? [['Waits until', notification.awaitingOperatorUntil]] : []),
  ];
  blocks.push({ type: 'section', fields: fields.map(([name, value]) => ({ type: 'mrkdwn', text: `*${name}*\n${slackEscape(value)}` })) });
  if (notification.failure) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '```' + slackEscape(notification.failure.message.replace(/```/g, "'''")) + '```' } });
  }
  if (notification.published) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: slackEscape(publishedLines(notification.published).join('\n')) } });
  if (notification.commands.length) {
    const commands = notification.commands.map((command) => command.command).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*What to run*\n\`\`\`${slackEscape(commands)}\`\`\`` } });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${notification.link}|Open in the Temporal UI> · event ${slackEscape(notification.eventId)}` }] });
  return { text: `${title}. ${notification.summary}`, blocks };
}

const TITLES: Record<RunEvent, string> = {
  'awaiting-operator': 'Run waits for an operator',
  held: 'Run held by its audit',
  failed: 'Run failed',
  published: 'Run published',
};

function summaryOf(facts: RunEventFacts): string {
  const failure = facts.failure ? `${facts.failure.type}: ${facts.failure.message}` : '';
  switch (facts.event) {
    case 'awaiting-operator':
      return `Step ${facts.step} failed for good (${failure}); the run waits for retry or abort until ${facts.awaitingOperatorUntil}.`;
    case 'held':
      return `The audit holds the run (${facts.failure?.message ?? 'a check failed'}); it waits for approve, retry or abort until ${facts.awaitingOperatorUntil}.`;
    case 'failed':
      return `The run ended failed${facts.step ? ` (step ${facts.step})` : ''}: ${failure}.`;
    case 'published':
      return facts.published ? publishedLines(facts.published)[0] : 'The run was published.';
  }
}

function publishedLines(published: PublishedRunFacts): string[] {
  const lines = [
    `customer_segments now holds ${count(published.customers)} customers (${count(published.low)} Low Frequency, ${count(published.high)} High Frequency), data up to ${published.dataDate ?? 'an unknown date'}.`,
  ];
  if (published.segments.length) lines.push(`RFM segments: ${published.segments.map((size) => `${size.segment} ${count(size.customers)}`).join(', ')}.`);
  lines.push(
    published.moved
      ? `${count(published.moved.customers)} of ${count(published.moved.of)} customers published before changed category (${published.moved.percent}%).`
      : 'No customers compared: nothing was published before, or the audit was off.',
  );
  return lines;
}

/** The decisions the run takes now, as `segment` commands (the same as the Temporal UI's Update). */
export function commandsFor(facts: Pick<RunEventFacts, 'event' | 'workflowId'>): DecisionCommand[] {
  const id = shellWord(facts.workflowId);
  const command = (action: DecisionCommand['action']): DecisionCommand => ({ action, command: `npx segment ${action} ${id}` });
  switch (facts.event) {
    case 'awaiting-operator':
      return [command('retry'), command('abort')];
    case 'held':
      return [command('report'), command('approve'), command('retry'), command('abort')];
    case 'failed':
      return [];
    case 'published':
      return [command('report')];
  }
}

/** Cut short, with every secret replaced (longest first, so a URL goes before its own path). */
export function scrub(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of [...secrets].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length)) text = text.split(secret).join('[redacted]');
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/** A workflow id as one shell word: as it is when it is plain, else in single quotes. */
function shellWord(value: string): string {
  return /^[\w.:@/+=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Slack's mrkdwn gives &, < and > meanings: escaped as its docs say. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const count = (value: number) => value.toLocaleString('en-US');
