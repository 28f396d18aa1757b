/**
 * One side of the RFM bench: a build (a project tree with its dist/), its own MySQL database
 * migrated by that build's own `segment migrate` (an older worker refuses a schema with a
 * migration it does not know), its own Kafka topic and task queue, and its own
 * `segment worker` process started from that build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { mysqlConnectionOptions, setting, type AppConfig } from '../../lib/config';
import { connectKafkaAdmin } from '../../lib/kafka';
import { runOrThrow } from './project-trees';

export interface BenchSide {
  label: string;
  /** The project tree whose dist/ this side runs. */
  tree: string;
  commit: string;
  database: string;
  kafkaTopic: string;
  taskQueue: string;
  /** What the side's child processes (migrate, worker) see. */
  env: NodeJS.ProcessEnv;
  logFile: string;
  worker?: ChildProcess;
}

/** How long a worker may take to finish its task at hand after SIGTERM before it is killed. */
const WORKER_STOP_MS = 30_000;

export function defineSide(label: string, tree: string, commit: string, names: { database: string; kafkaTopic: string; taskQueue: string }, dataDir: string, logDir: string): BenchSide {
  const inDatabase = (url: string) => Object.assign(new URL(url), { pathname: `/${names.database}` }).toString();
  return {
    label,
    tree,
    commit,
    ...names,
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: names.taskQueue,
      KAFKA_TOPIC: names.kafkaTopic,
      MYSQL_URL: inDatabase(setting('MYSQL_URL')),
      MYSQL_MIGRATION_URL: inDatabase(setting('MYSQL_MIGRATION_URL')),
      DATA_DIR: dataDir,
      // Two sides' workers run at once: neither takes the metrics port (the baseline's ignores this).
      METRICS_ADDRESS: 'off',
    },
    logFile: path.join(logDir, `${names.taskQueue}.log`),
  };
}

/** The database (made by the migrations' user, as the stack's own is), its schema by the side's own build, then its worker, polling. */
export async function startSide(side: BenchSide, base: AppConfig): Promise<void> {
  const admin = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
  try {
    await admin.query(`CREATE DATABASE ${mysql.escapeId(side.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  runOrThrow('node', [path.join(side.tree, 'bin', 'segment.js'), 'migrate'], side.tree, side.env);

  fs.mkdirSync(path.dirname(side.logFile), { recursive: true });
  const log = fs.openSync(side.logFile, 'w');
  side.worker = spawn('node', [path.join(side.tree, 'bin', 'segment.js'), 'worker'], { cwd: side.tree, env: side.env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const deadline = Date.now() + 60_000;
  while (!/worker polling/.test(fs.readFileSync(side.logFile, 'utf8'))) {
    requireWorkerAlive(side);
    if (Date.now() > deadline) throw new Error(`${side.label}: worker not polling after 60 s:\n${logTail(side)}`);
    await delay(100);
  }
}

/** A worker that died mid-bench would leave its run waiting for ever: the bench checks while it waits. */
export function requireWorkerAlive(side: BenchSide): void {
  const worker = side.worker;
  if (worker && (worker.exitCode !== null || worker.signalCode !== null)) {
    throw new Error(`${side.label}: its worker exited (${worker.exitCode ?? worker.signalCode}):\n${logTail(side)}`);
  }
}

function logTail(side: BenchSide): string {
  return fs.existsSync(side.logFile) ? fs.readFileSync(side.logFile, 'utf8').slice(-3000) : '(no log)';
}

/**
 * Stops the worker (SIGTERM: it finishes the task at hand; SIGKILL after WORKER_STOP_MS), deletes
 * the topic and drops the database. Every part is tried, whatever failed before it: the errors
 * are returned, not thrown, so the other side is cleaned up too.
 */
export async function stopSide(side: BenchSide, base: AppConfig): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      problems.push(`${side.label}: ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await attempt('stop the worker', async () => {
    const worker = side.worker;
    if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), delay(WORKER_STOP_MS, false)]);
    if (!stopped) {
      worker.kill('SIGKILL');
      await exited;
    }
  });
  await attempt('delete the topic', async () => {
    const kafka = await connectKafkaAdmin(base.kafkaBrokers, 'rfm-bench-cleanup', base.kafkaSecurity);
    try {
      // The topic exists once a run has published: a side that failed earlier may have none.
      if ((await kafka.listTopics()).includes(side.kafkaTopic)) await kafka.deleteTopics({ topics: [side.kafkaTopic] });
    } finally {
      await kafka.disconnect();
    }
  });
  await attempt('drop the database', async () => {
    const admin = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(side.database)}`);
    } finally {
      await admin.end();
    }
  });
  return problems;
}
