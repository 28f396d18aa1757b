/**
 * The MySQL password never leaves the worker: not in its log, not in errors, not in the Temporal
 * UI's details, not in any workflow history, not in what MySQL records of the runs. A worker
 * process runs with a MySQL user of its own whose password is random, through a good run, a run
 * that fails on bad input, and a start with a wrong password; then everything is searched for it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { APP_PRIVILEGES } from '../../infra/stack/mysql-server';
import { loadStackSettings } from '../../infra/stack/stack-settings';
import { PROJECT_ROOT } from '../../lib/config';
import { TABLES } from '../../lib/tables';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';
import { segment } from '../support/segment-cli';
import { startSegmentation } from '../support/run-workflow';
import { createTestEnvironment, requireManagedServer, type TestEnvironment } from '../support/test-environment';
import { startWorkerProcess, untilPolling } from '../support/worker-process';

jest.setTimeout(180_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
const logDir = path.join(PROJECT_ROOT, '.stack', 'logs', 'secrets');
const user = `seg_secret_${randomBytes(3).toString('hex')}`;
const password = `pw-${randomBytes(12).toString('hex')}`;
let env: TestEnvironment;
let root: mysql.Connection;

beforeAll(async () => {
  await requireManagedServer('mysql');
  env = await createTestEnvironment('secrets', { dataDir });
  // Only the stack's root socket may create users.
  root = await mysql.createConnection({ socketPath: path.join(loadStackSettings().stackDir, 'run', 'mysql.sock'), user: 'root' });
  await root.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '127.0.0.1', password]);
  await root.query(`GRANT ${APP_PRIVILEGES} ON ${mysql.escapeId(env.config.mysql.database)}.* TO ?@?`, [user, '127.0.0.1']);
});

afterAll(async () => {
  await root?.query('DROP USER IF EXISTS ?@?', [user, '127.0.0.1']);
  await root?.end();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function workerEnv(secret: string): NodeJS.ProcessEnv {
  const url = new URL(env.env.MYSQL_URL!);
  url.username = user;
  url.password = secret;
  url.hostname = '127.0.0.1';
  return { ...env.env, MYSQL_URL: url.toString() };
}

test('the MySQL password appears in no log, error, UI detail, history or run record', async () => {
  const expected = await generateWorkbook({ outPath: path.join(dataDir, 'good.xlsx'), rows: 3_000, seed: 51 });
  fs.writeFileSync(path.join(dataDir, 'bad.xlsx'), 'not a workbook');
  const worker = startWorkerProcess(workerEnv(password), path.join(logDir, 'worker.log'));
  await untilPolling(worker);

  const good = await startSegmentation(env.client, env.config, { file: 'good.xlsx' }, 'secrets');
  const result: SegmentationProgress = await good.result();
  expect(result.summary?.customers).toBe(expected.customers);
  const bad = await startSegmentation(env.client, env.config, { file: 'bad.xlsx', operatorWait: 0 }, 'secrets');
  await expect(bad.result()).rejects.toThrow();
  // What the Temporal UI shows as the runs' details (a query: the worker answers it).
  const details = JSON.stringify([await good.query('__temporal_workflow_metadata'), await bad.query('__temporal_workflow_metadata')]);
  await worker.kill();

  // A worker with a wrong password fails to start, saying so without the password it was given.
  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  const refused = startWorkerProcess(workerEnv(wrong), path.join(logDir, 'wrong-password.log'));
  await new Promise((resolve) => refused.child.once('exit', resolve));
  expect(refused.child.exitCode).not.toBe(0);
  expect(refused.output()).toMatch(/Access denied for user/);
  expect(refused.output()).not.toContain(wrong);

  const places: Record<string, string> = {
    'worker log': worker.output(),
    'good run history': JSON.stringify(await good.fetchHistory()),
    'failed run history': JSON.stringify(await bad.fetchHistory()),
    'UI details': details,
    'segment status': (await segment(['status', good.workflowId, '--json'], workerEnv(password))).stdout,
    'segmentation_runs': JSON.stringify(await env.db(TABLES.runs).select()),
  };
  for (const [place, text] of Object.entries(places)) {
    expect(text.length).toBeGreaterThan(0);
    if (text.includes(password)) throw new Error(`the MySQL password appears in the ${place}`);
  }
  // The searches looked at the right things: the failure's message is there, for one.
  expect(places['failed run history']).toContain('bad.xlsx');
});
