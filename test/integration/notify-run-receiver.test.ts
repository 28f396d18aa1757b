/**
 * One attempt of the notifyRun activity (activities/notify-run.ts) against receivers that
 * misbehave, each a node:http server this test runs on a free loopback port: one that streams an
 * endless answer, one that never answers, a redirect to a URL carrying a token, one that echoes
 * the URL it was posted to, and no receiver at all. No Temporal, Kafka or MySQL is involved: the
 * activity is called as the worker calls it. Every error must say what to do and never name the
 * webhook's secret path.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNotifyRun } from '../../activities/notify-run';
import { Secret } from '../../lib/secret';
import type { PipelineMetrics } from '../../lib/metrics/pipeline-metrics';
import type { RunEventFacts } from '../../lib/notifications/run-notification';
import { freePorts } from '../support/free-ports';

jest.setTimeout(60_000);

const TOKEN_PATH = `/services/T0RECV/B0RECV/${randomBytes(12).toString('hex')}`;
const TIMEOUT_MS = 6_000;
const servers: http.Server[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const facts: RunEventFacts = {
  event: 'failed',
  eventId: 'receiver-test/run/failed/1',
  workflowId: 'receiver-test',
  runId: 'run',
  at: new Date().toISOString(),
  step: 'load',
  failure: { type: 'WorkbookFormatError', message: 'sheet "Year 2010-2011" has no Quantity column' },
  awaitingOperatorUntil: null,
  published: null,
};

/** What segmentation_notifications_total was told, per attempt: [event, outcome]. */
let counted: Array<[string, string]> = [];
const metrics = { notificationAttempt: (event: string, outcome: string) => void counted.push([event, outcome]) } as unknown as PipelineMetrics;

function notifyRunAt(url: string) {
  return createNotifyRun({
    metrics,
    notifications: {
      settings: { webhookUrl: new Secret(url), format: 'json', on: [] },
      temporalUiUrl: 'http://127.0.0.1:8233',
      temporalNamespace: 'default',
      secrets: [],
      timeoutMs: TIMEOUT_MS,
    },
  });
}

async function receiver(handle: http.RequestListener): Promise<string> {
  const server = http.createServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${TOKEN_PATH}`;
}

/** The attempt's outcome, and how long it took. */
async function attempt(url: string): Promise<{ ms: number; result?: unknown; error?: Error }> {
  counted = [];
  const started = Date.now();
  try {
    const result = await notifyRunAt(url)(facts);
    return { ms: Date.now() - started, result };
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
}

/** Answers `status`, then writes a kilobyte chunk after another for as long as the client reads. */
function endless(status: number): http.RequestListener {
  return (request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      const chunk = `no_service ${'x'.repeat(1_024)}\n`;
      const write = () => {
        while (response.write(chunk));
        response.once('drain', write);
      };
      write();
      response.on('close', () => response.removeAllListeners('drain'));
    });
  };
}

test('a refusal with an endless answer is reported at once, quoting its beginning, without reading the rest', async () => {
  const { ms, error } = await attempt(await receiver(endless(400)));
  expect(error?.name).toBe('NotificationRejectedError');
  expect(error?.message).toMatch(/refused the notification with 400: no_service x+/);
  expect(counted).toEqual([[facts.event, 'rejected']]); // lost: the alert SegmentationNotificationLost says so
  // Not held until the post's timeout while a few hundred megabytes pour in.
  expect(ms).toBeLessThan(TIMEOUT_MS / 2);
});

test('a 2xx with an endless answer counts as posted at once', async () => {
  const { ms, result, error } = await attempt(await receiver(endless(200)));
  expect(error).toBeUndefined();
  expect(result).toEqual({ posted: true, status: 200 });
  expect(counted).toEqual([[facts.event, 'sent']]);
  expect(ms).toBeLessThan(TIMEOUT_MS / 2);
});

test('a receiver that never answers: retried, naming the host and the timeout, not the path', async () => {
  const url = await receiver((request) => request.resume());
  const { ms, error } = await attempt(url);
  expect(error?.name).toBe('NotificationFailedError');
  expect(error?.message).toBe(`the webhook at ${new URL(url).host} did not answer within ${TIMEOUT_MS / 1000}s`);
  expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
});

test('a redirect is not followed, and its Location (which may carry a token) is not quoted', async () => {
  const url = await receiver((request, response) => {
    request.resume();
    response.writeHead(302, { location: `https://hooks.example.invalid${TOKEN_PATH}` }).end(`moved to ${TOKEN_PATH}`);
  });
  const { error } = await attempt(url);
  expect(error?.name).toBe('NotificationRejectedError');
  expect(error?.message).toMatch(/answered 302 \(a redirect, not followed\)/);
  expect(error?.message).not.toContain(TOKEN_PATH);
});

test('an answer that echoes the URL is quoted with its path taken out', async () => {
  const url = await receiver((request, response) => {
    request.resume();
    response.writeHead(503).end(`${request.url} is over capacity (full URL http://${request.headers.host}${request.url})`);
  });
  const { error } = await attempt(url);
  expect(error?.name).toBe('NotificationFailedError');
  expect(error?.message).toMatch(/answered 503: \[redacted\] is over capacity/);
  expect(counted).toEqual([[facts.event, 'failed']]);
  expect(error?.message).not.toContain(TOKEN_PATH);
  expect(error?.message).not.toContain(TOKEN_PATH.slice(1));
});

test('no receiver at all: the network code, not the URL', async () => {
  const port = await freePorts(1);
  const { error } = await attempt(`http://127.0.0.1:${port}${TOKEN_PATH}`);
  expect(error?.name).toBe('NotificationFailedError');
  expect(error?.message).toBe(`could not post to the webhook at 127.0.0.1:${port}: ECONNREFUSED`);
  expect(JSON.stringify(error)).not.toContain(TOKEN_PATH);
});
