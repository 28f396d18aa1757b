/**
 * What the end-to-end benches share (bench/older-design.bench.ts, bench/polars-mysql.bench.ts,
 * bench/growth.bench.ts): a `segment worker` process of their own, `segment run --file WORKBOOK
 * --wait --json` against it as a user runs it (a whole CLI process, timed spawn to exit, then
 * broken down from the run's history and record), the worker's peak RSS during one run, the
 * published table read back and compared customer by customer, and a Python venv under .stack
 * installed from PyPI the first time.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import mysql from 'mysql2/promise';
import { loadConfig, mysqlConnectionOptions, setting, temporalConnectionOptions, type AppConfig } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';
import { connectKafkaAdmin } from '../../lib/kafka';
import { TABLES } from '../../lib/tables';
import { runBreakdown, type RunBreakdown } from '../older-design/run-breakdown';

const PROJECT = resolve(__dirname, '..', '..');
const SEGMENT = join(PROJECT, 'bin', 'segment.js');

export interface OurRun {
  /** Spawn to exit of `segment run --wait --json`. */
  seconds: number;
  outcome: { workflowId: string; runId?: string; status: string; customers?: number; low?: number; high?: number };
  breakdown: RunBreakdown;
  /** Each step's seconds as the run's record (segmentation_runs.steps) has them. */
  steps: Record<string, number>;
  /** The worker's peak and starting RSS during the run, MiB, when its pid was given. */
  workerPeakRssMiB?: number;
  workerStartRssMiB?: number;
  /** The worker's CPU seconds (user + system, all its threads) during the run, when its pid was given. */
  workerCpuSeconds?: number;
}

export type SegmentRow = { CustomerID: number; PurchaseCount: number; FrequencyCategory: string };

export interface BenchServers {
  suffix: string;
  config: AppConfig;
  /** Our database (migrated), `extraDatabases` beside it (empty), for the other side's table. */
  database: string;
  extraDatabases: Record<string, string>;
  /** The environment of our worker and CLI: their own task queue, topic and database. */
  env: NodeJS.ProcessEnv;
  /** The migration user's connection (it made the databases; it may read and write them all). */
  admin: mysql.Connection;
  client: Client;
  kafka: Admin;
  /** A MySQL URL of the migration user in one of the databases (for the other side, which makes its own table). */
  mysqlUrlOf: (database: string) => string;
  /** Drops the databases and the topic, closes the connections. */
  close: (extraTopics?: string[]) => Promise<void>;
}

/** A throw-away database (migrated), topic and task queue on the running stack, named `LABEL-SUFFIX`; `dataDir` is the worker's DATA_DIR. */
export async function openBenchServers(label: string, dataDir: string, extraDatabases: string[] = []): Promise<BenchServers> {
  const base = loadConfig();
  const suffix = randomBytes(3).toString('hex');
  const database = `${base.mysql.database}_bench_${label.replace(/\W/g, '_')}_ours_${suffix}`;
  const extra = Object.fromEntries(extraDatabases.map((name) => [name, `${base.mysql.database}_bench_${name}_${suffix}`]));
  const config: AppConfig = {
    ...base,
    taskQueue: `bench-${label}-${suffix}`,
    kafkaTopic: `purchase-frequency-bench-${label}-${suffix}`,
    mysql: { ...base.mysql, database },
    mysqlMigration: { ...base.mysqlMigration, database },
    dataDir,
  };
  const mysqlUrlOf = (name: string) => Object.assign(new URL(setting('MYSQL_MIGRATION_URL')), { pathname: `/${name}` }).toString();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    KAFKA_TOPIC: config.kafkaTopic,
    MYSQL_URL: Object.assign(new URL(setting('MYSQL_URL')), { pathname: `/${database}` }).toString(),
    MYSQL_MIGRATION_URL: mysqlUrlOf(database),
    DATA_DIR: dataDir,
    METRICS_ADDRESS: 'off',
  };
  const admin = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
  for (const name of [database, ...Object.values(extra)]) {
    await admin.query(`CREATE DATABASE ${mysql.escapeId(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  }
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());
  const kafka = await connectKafkaAdmin(config.kafkaBrokers, `bench-${label}`, config.kafkaSecurity);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const close = async (extraTopics: string[] = []) => {
    await connection.close();
    await kafka.deleteTopics({ topics: [config.kafkaTopic, ...extraTopics] }).catch(() => undefined);
    await kafka.disconnect();
    for (const name of [database, ...Object.values(extra)]) await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(name)}`);
    await admin.end();
  };
  return { suffix, config, database, extraDatabases: extra, env, admin, client, kafka, mysqlUrlOf, close };
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** `segment worker` as its own process, resolved once it polls its task queue. */
export function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const worker = spawn(process.execPath, [SEGMENT, 'worker'], { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling')) {
        worker.stdout?.off('data', onData);
        worker.stdout?.resume();
        resolvePromise(worker);
      }
    };
    worker.stdout?.on('data', onData);
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.on('exit', (code) => reject(new Error(`segment worker exited with ${code} before polling: ${output.slice(-2000)}`)));
  });
}

export async function stopWorker(worker: ChildProcess | undefined): Promise<void> {
  if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((done) => worker.once('exit', done));
  worker.kill('SIGTERM');
  await exited;
}

/** utime + stime of a process, in seconds (clock ticks of 1/100 s, Linux's USER_HZ). */
const cpuSeconds = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

const statusKib = (pid: number, field: 'VmHWM' | 'VmRSS') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/**
 * The peak RSS of a process from now on: the kernel's high-water mark reset (`5` into clear_refs,
 * Linux 4.0+, the process's owner or root), read at the end; where the reset is refused, VmRSS
 * polled every 50 ms instead.
 */
function watchPeakRss(pid: number): { startMiB: number; stop: () => number } {
  const startMiB = statusKib(pid, 'VmRSS') / 1024;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return { startMiB, stop: () => statusKib(pid, 'VmHWM') / 1024 };
  } catch {
    let peak = statusKib(pid, 'VmRSS');
    const timer = setInterval(() => (peak = Math.max(peak, statusKib(pid, 'VmRSS'))), 50);
    return { startMiB, stop: () => (clearInterval(timer), Math.max(peak, statusKib(pid, 'VmRSS')) / 1024) };
  }
}

/** One `segment run --file WORKBOOK [ARGS] --wait --json`, timed from spawn to exit, then broken down. */
export async function runSegment(
  client: Client,
  db: mysql.Connection,
  options: { database: string; env: NodeJS.ProcessEnv; workbook: string; workerPid?: number; args?: string[] },
): Promise<OurRun> {
  const { database, env, workbook, workerPid, args = [] } = options;
  const peak = workerPid === undefined ? undefined : watchPeakRss(workerPid);
  const cpuAtStart = workerPid === undefined ? undefined : cpuSeconds(workerPid);
  const spawnedAt = Date.now();
  const started = performance.now();
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [SEGMENT, 'run', '--file', workbook, ...args, '--wait', '--json'], { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`segment run exited with ${code}: ${err.slice(-2000)}${out.slice(-2000)}`))));
  });
  const seconds = (performance.now() - started) / 1000;
  const exitedAt = Date.now();
  const workerPeakRssMiB = peak?.stop();
  const workerCpuSeconds = workerPid === undefined || cpuAtStart === undefined ? undefined : cpuSeconds(workerPid) - cpuAtStart;
  const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as OurRun['outcome'];
  if (outcome.status !== 'completed') throw new Error(`segment run ended ${outcome.status}, not completed`);
  const breakdown = await runBreakdown(client, outcome.workflowId, spawnedAt, exitedAt);
  const [records] = await db.query<mysql.RowDataPacket[]>(`SELECT steps FROM ${mysql.escapeId(database)}.${TABLES.runs} WHERE run_id = ?`, [outcome.runId ?? outcome.workflowId]);
  const recorded = (typeof records[0]?.steps === 'string' ? JSON.parse(records[0].steps) : records[0]?.steps) as Record<string, { seconds?: number }> | undefined;
  const steps = Object.fromEntries(Object.entries(recorded ?? {}).map(([step, { seconds: stepSeconds }]) => [step, stepSeconds ?? 0]));
  return { seconds, outcome, breakdown, steps, workerPeakRssMiB, workerStartRssMiB: peak?.startMiB, workerCpuSeconds };
}

/** CustomerID, PurchaseCount and FrequencyCategory of every row of a table (customer_segments by default). */
export async function segmentRows(db: mysql.Connection, database: string, table: string = TABLES.segments): Promise<Map<number, SegmentRow>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT CustomerID, PurchaseCount, FrequencyCategory FROM ${mysql.escapeId(database)}.${mysql.escapeId(table)}`);
  return new Map(rows.map((row) => [Number(row.CustomerID), { CustomerID: Number(row.CustomerID), PurchaseCount: Number(row.PurchaseCount), FrequencyCategory: String(row.FrequencyCategory) }]));
}

/** The differences between our table and another, customer by customer (the caller names a few). */
export function tableDifferences(ours: Map<number, SegmentRow>, other: Map<number, SegmentRow>, otherName: string): string[] {
  const differences: string[] = [];
  if (ours.size !== other.size) differences.push(`ours has ${ours.size} customers, ${otherName} ${other.size}`);
  for (const [id, row] of ours) {
    const theirs = other.get(id);
    if (!theirs) differences.push(`customer ${id} is only in ours`);
    else if (theirs.PurchaseCount !== row.PurchaseCount || theirs.FrequencyCategory !== row.FrequencyCategory) {
      differences.push(`customer ${id}: ours ${row.PurchaseCount} ${row.FrequencyCategory}, ${otherName} ${theirs.PurchaseCount} ${theirs.FrequencyCategory}`);
    }
  }
  for (const id of other.keys()) if (!ours.has(id)) differences.push(`customer ${id} is only in ${otherName}'s`);
  return differences;
}

/** What a bench's Python script (bench/support/bench_script.py) prints, and its process's seconds. */
export interface ScriptResult {
  rows: number;
  kept: number;
  customers: number;
  low: number;
  high: number;
  /** Seconds of each phase inside the process (imports first). */
  phases: Record<string, number>;
  /** Spawn to exit, as the bench saw it. */
  processSeconds: number;
}

/**
 * A script's process whose last line of output is one JSON object: that object and the process's
 * seconds, spawn to exit. `env` is added to this process's environment (a MySQL URL goes there,
 * not in argv, which any `ps` shows).
 */
export function runJsonScript<T>(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T & { processSeconds: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: PROJECT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const processSeconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${args[0] ?? command} exited with ${code}: ${stderr.slice(-3000)}`));
      resolvePromise({ ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T), processSeconds });
    });
  });
}

/**
 * A Python under .stack/NAME with `packages` installed (python3 -m venv, then pip, the first time,
 * saying so), checked by importing `imports`.
 */
export function benchVenv(name: string, packages: string[], imports: string[]): string {
  const venv = join(PROJECT, '.stack', name);
  const python = join(venv, 'bin', 'python');
  const ready = () => spawnSync(python, ['-c', `import ${imports.join(', ')}`], { stdio: 'ignore' }).status === 0;
  if (existsSync(python) && ready()) return python;
  console.log(`Installing into .stack/${name} (once): python3 -m venv, then pip install ${packages.join(' ')}`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', ...packages], { stdio: 'inherit' });
  if (!ready()) throw new Error(`${venv} was installed but cannot import ${imports.join(', ')}`);
  return python;
}
