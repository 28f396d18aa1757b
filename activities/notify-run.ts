/**
 * Posts one event of a run (it waits for an operator, its audit held it, it failed, it was
 * published) to NOTIFY_WEBHOOK_URL, as `json` or `slack` (lib/notifications/run-notification.ts).
 * The workflow calls it (workflows/run-notifications.ts) with its own retry policy; this activity
 * decides only what one attempt did:
 * - no webhook set (or `published` not in NOTIFY_ON): returns at once, posting nothing;
 * - a 2xx answer: sent;
 * - a 4xx other than 408 and 429, or a redirect: NotificationRejectedError, not retried;
 * - a 5xx, 408, 429, no answer within the timeout, a network error: NotificationFailedError, retried.
 *
 * At least once, not exactly once: a worker that dies after the receiver took the post and before
 * the activity completed posts again. Both posts carry the same `eventId` and `Idempotency-Key`,
 * so a receiver can drop the second. The URL is a secret (a Slack webhook's token is its path):
 * it is revealed only to fetch, and no error, log line or result names it.
 */
import { NotificationFailedError, NotificationRejectedError } from '../lib/errors';
import type { NotificationSettings } from '../lib/config';
import { runNotification, scrub, slackNotification, type RunEvent, type RunEventFacts } from '../lib/notifications/run-notification';
import type { Secret } from '../lib/secret';
import { temporalUiLink } from '../lib/temporal-ui-link';
import type { ActivityDependencies } from './activity-dependencies';

export type NotifyRunInput = RunEventFacts;

/** What the post did (the activity's result in the run's history: no URL in it). */
export type NotifyRunResult = { posted: true; status: number } | { posted: false; reason: 'no webhook set' | 'not in NOTIFY_ON' };

/** What notifications are built with: the settings, where the UI's links point, and the values no body may hold. */
export interface NotificationDependencies {
  settings: NotificationSettings;
  temporalUiUrl: string;
  temporalNamespace: string;
  /** Passwords and keys of the worker's other connections: taken out of any message a body quotes. */
  secrets: readonly Secret[];
  /** How long one post may take before it counts as no answer (retried). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Of a refusal's answer, this much is quoted in the error (Slack says why: "invalid_token", "no_service"). */
const QUOTED_ANSWER_CHARS = 200;

export function createNotifyRun({ notifications, metrics }: Pick<ActivityDependencies, 'notifications' | 'metrics'>) {
  return async function notifyRun(input: NotifyRunInput): Promise<NotifyRunResult> {
    const url = notifications?.settings.webhookUrl;
    if (!notifications || !url) return { posted: false, reason: 'no webhook set' };
    if (!isNotified(input.event, notifications.settings)) return { posted: false, reason: 'not in NOTIFY_ON' };
    const secrets = secretValues(url, notifications.secrets);
    const notification = runNotification(input, {
      link: temporalUiLink({ temporalUiUrl: notifications.temporalUiUrl, temporalNamespace: notifications.temporalNamespace }, input.workflowId),
      secrets,
    });
    const body = notifications.settings.format === 'slack' ? slackNotification(notification) : notification;
    try {
      const status = await post(url, JSON.stringify(body), input.eventId, notifications.timeoutMs ?? DEFAULT_TIMEOUT_MS, secrets);
      metrics?.notificationAttempt(input.event, 'sent');
      return { posted: true, status };
    } catch (error) {
      // Counted so an alert can say a notification was lost (infra/prometheus/alerts.yml).
      metrics?.notificationAttempt(input.event, error instanceof NotificationRejectedError ? 'rejected' : 'failed');
      throw error;
    }
  };
}

/** Runs waiting for an operator, held and failed are always posted; a publication only if NOTIFY_ON asks. */
export function isNotified(event: RunEvent, settings: NotificationSettings): boolean {
  return event === 'published' ? settings.on.includes('published') : true;
}

/** One POST; returns the 2xx status, or throws the error that says whether to try again. */
async function post(url: Secret, body: string, eventId: string, timeoutMs: number, secrets: readonly string[]): Promise<number> {
  const host = new URL(url.reveal()).host;
  let response: Response;
  try {
    response = await fetch(url.reveal(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': eventId },
      body,
      // A redirect is answered, not followed: the body goes only where the setting says.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // Named by host and code only: fetch's own error and its cause may carry the whole URL.
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new NotificationFailedError(`the webhook at ${host} did not answer within ${timeoutMs / 1000}s`);
    }
    throw new NotificationFailedError(`could not post to the webhook at ${host}: ${networkCode(error)}`);
  }
  if (response.status >= 200 && response.status < 300) {
    // Taken: whatever it answers is not needed, and a receiver may answer without end.
    await response.body?.cancel().catch(() => undefined);
    return response.status;
  }
  const answer = await answerStart(response, QUOTED_ANSWER_CHARS);
  const said = answer.trim() ? `: ${scrubbed(answer, secrets)}` : '';
  if (response.status >= 300 && response.status < 400) {
    throw new NotificationRejectedError(`the webhook at ${host} answered ${response.status} (a redirect, not followed): set NOTIFY_WEBHOOK_URL to where it points`);
  }
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    throw new NotificationFailedError(`the webhook at ${host} answered ${response.status}${said}`);
  }
  throw new NotificationRejectedError(`the webhook at ${host} refused the notification with ${response.status}${said}`);
}

/** The URL, its path (the token of a Slack webhook) and the worker's other secrets. */
function secretValues(url: Secret, others: readonly Secret[]): string[] {
  const parsed = new URL(url.reveal());
  const values = [url.reveal(), parsed.pathname + parsed.search, ...others.map((secret) => secret.reveal())];
  // A path of "/" alone names nothing.
  return values.filter((value) => value.length > 1);
}

function scrubbed(answer: string, secrets: readonly string[]): string {
  return scrub(answer.trim().slice(0, QUOTED_ANSWER_CHARS).replace(/\s+/g, ' '), secrets);
}

/**
 * The first `chars` characters of the answer, or less if it ends or breaks first; the rest is not
 * read (an answer of gigabytes, or one that never ends, would otherwise be held in memory until
 * the post's timeout).
 */
async function answerStart(response: Response, chars: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < chars) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Cut short (the timeout, a reset): what came says enough.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return text;
}

/**
 * ECONNREFUSED, ENOTFOUND, ...: the cause's code, never its message. Read by shape, not by
 * `instanceof Error`: fetch's errors come from Node's own realm, not a vm context's (jest's).
 */
function networkCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
