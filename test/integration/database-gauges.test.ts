/**
 * The database gauges' election (workers/database-gauges.ts) when the MySQL connection holding
 * the lock drops silently: no error, no FIN, packets just stop (a firewall's idle cut, a network
 * partition, a VM paused). The lock connection goes through a TCP relay this test runs, which
 * can stop forwarding while keeping both sockets open. The real MariaDB holds the lock.
 *
 * Before: the elected worker's next check waited for an answer that never came (no query
 * timeout), so it kept saying segmentation_database_exporter 1 with frozen figures, its
 * refreshes queued behind the stuck one, and its shutdown hung on end(); MySQL kept the silent
 * session (and the lock) for wait_timeout, 8 hours by default, so no other worker could take over.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '@temporalio/common';
import type { PipelineMetrics } from '../../lib/metrics/pipeline-metrics';
import { databaseGauges, type DatabaseGauges } from '../../workers/database-gauges';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gauges-'));
let env: TestEnvironment;
let relay: Relay;
const started: DatabaseGauges[] = [];

beforeAll(async () => {
  env = await createTestEnvironment('gauges', { dataDir });
  relay = await startRelay(env.config.mysql.host, env.config.mysql.port);
});

afterAll(async () => {
  await Promise.allSettled(started.map((gauges) => gauges.stop()));
  relay?.close();
  await env?.cleanup();
});

test('a lock connection that drops silently: the worker says 0 within seconds and stops at once, and another worker takes the lock over', async () => {
  const first = worker('first', { host: '127.0.0.1', port: relay.port });
  const second = worker('second', {});

  await first.gauges.refresh();
  await second.gauges.refresh();
  expect(first.exporter()).toBe(true);
  expect(second.exporter()).toBe(false);

  relay.blackhole();

  // The check on the silent connection gives up (query timeout), and the worker no longer claims the export.
  const checked = await within(20_000, first.gauges.refresh());
  expect(checked).toBe('settled');
  expect(first.exporter()).toBe(false);
  expect(first.logged()).toMatch(/MySQL connection holding their lock failed/);

  // MySQL drops the silent session after the lock session's wait_timeout, and with it the lock.
  const deadline = Date.now() + 60_000;
  while (!second.exporter() && Date.now() < deadline) {
    await second.gauges.refresh();
    if (!second.exporter()) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  expect(second.exporter()).toBe(true);

  // The first worker's shutdown does not wait on its dead connection.
  expect(await within(10_000, first.gauges.stop())).toBe('settled');
});

function worker(name: string, lockAt: { host?: string; port?: number }) {
  let exporter: boolean | undefined;
  const lines: string[] = [];
  const write = (level: string) => (message: string, meta?: Record<string, unknown>) => lines.push(`${name} ${level} ${message} ${JSON.stringify(meta ?? {})}`);
  const logger: Logger = { log: (level, message, meta) => write(level)(message, meta), trace: write('TRACE'), debug: write('DEBUG'), info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
  const metrics: PipelineMetrics = {
    rowsLoaded: () => undefined,
    stepAttempt: () => undefined,
    messagesPublished: () => undefined,
    messagesConsumed: () => undefined,
    consumerLag: () => undefined,
    runReached: () => undefined,
    notificationAttempt: () => undefined,
    databaseExporter: (elected) => {
      exporter = elected;
    },
    databaseFigures: () => undefined,
  };
  const gauges = databaseGauges({
    db: env.db,
    mysql: { ...env.config.mysql, ...lockAt },
    metrics,
    client: () => env.client,
    logger,
    // Short, so the test sees MySQL end the silent session in seconds rather than a minute.
    lockSessionTimeoutSeconds: 5,
  });
  started.push(gauges);
  return { gauges, exporter: () => exporter, logged: () => lines.join('\n') };
}

async function within(ms: number, work: Promise<unknown>): Promise<'settled' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still waiting'>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  const result = await Promise.race([work.then(() => 'settled' as const, () => 'settled' as const), late]);
  clearTimeout(timer);
  return result;
}

interface Relay {
  port: number;
  /** From now on nothing passes either way, and no socket is closed: a silent drop. */
  blackhole(): void;
  close(): void;
}

/** A TCP relay to MySQL on a free loopback port. */
async function startRelay(host: string, port: number): Promise<Relay> {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk) => {
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silent) client.write(chunk);
    });
    client.on('close', () => {
      if (!silent) upstream.destroy();
    });
    upstream.on('close', () => {
      if (!silent) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: () => {
      silent = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
