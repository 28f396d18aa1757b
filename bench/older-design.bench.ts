/**
 * This project against the design it replaces, end to end, on the same workbook and the same
 * servers (`npm run bench:older-design`; `npm run bench` runs it last):
 *
 * - ours: `segment run --file WORKBOOK --wait --json` (a whole CLI process) against a warm
 *   `segment worker` the bench spawns, with its own task queue, topic and database;
 * - the older design: bench/older-design/older-design.py, pandas + openpyxl cleaning and
 *   counting → kafka-python producer → Spark Structured Streaming (availableNow) classifying →
 *   pymysql insert, into a throw-away topic (one partition, made by the bench) and database.
 *
 * Each round runs both, one after the other, and takes its ratio (older / ours) within the round;
 * the bench prints the median of the rounds' ratios, each side's median, the older design's phases
 * and where our time goes (CLI start, workflow tasks, each activity's queue wait and run time,
 * each step's recorded seconds). After every round the two tables must be equal customer by
 * customer (CustomerID, PurchaseCount, FrequencyCategory), or the bench fails. One unmeasured
 * warm-up run of each side comes first (the worker's caches, the page cache, Spark's package
 * resolution).
 *
 *   npx tsx bench/older-design.bench.ts [--workbook PATH] [--rounds N]
 *
 * The servers must be up (`segment stack up`), dist/ built (`npm run build`). The older design's
 * packages are installed into .stack/bench-venv-older-design the first time (PyPI), and Spark
 * resolves spark-sql-kafka into .stack/bench-ivy (Maven Central). Not a test: its figures depend
 * on the machine (2 shared cores here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import mysql from 'mysql2/promise';
import { loadConfig, mysqlConnectionOptions, setting, temporalConnectionOptions, type AppConfig } from '../lib/config';
import { createDatabase, migrateToLatest } from '../lib/database';
import { connectKafkaAdmin, ensureTopic } from '../lib/kafka';
import { TABLES } from '../lib/tables';
import { pythonForOlderDesign, runOlderDesign, type OlderDesignResult } from './older-design/older-side';
import { runBreakdown, type RunBreakdown } from './older-design/run-breakdown';

const PROJECT = resolve(__dirname, '..');
const UCI_WORKBOOK = resolve(PROJECT, '../shared/data/online-retail.xlsx');
const SEGMENT = join(PROJECT, 'bin', 'segment.js');

interface OurRun {
  seconds: number;
  outcome: { workflowId: string; runId?: string; status: string; customers?: number; low?: number; high?: number };
  breakdown: RunBreakdown;
  steps: Record<string, number>;
}

interface Round {
  ours: OurRun;
  older: OlderDesignResult;
}

type SegmentRow = { CustomerID: number; PurchaseCount: number; FrequencyCategory: string };

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return { workbook: resolve(value('--workbook') ?? UCI_WORKBOOK), rounds: Number(value('--rounds') ?? 3) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds2 = (ms: number) => +(ms / 1000).toFixed(2);

/** `segment worker` as its own process, resolved once it polls its task queue. */
function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
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

/** One `segment run --wait --json`, timed from spawn to exit, then broken down. */
async function runOurs(client: Client, db: mysql.Connection, database: string, env: NodeJS.ProcessEnv, workbook: string): Promise<OurRun> {
  const spawnedAt = Date.now();
  const started = performance.now();
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [SEGMENT, 'run', '--file', workbook, '--wait', '--json'], { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`segment run exited with ${code}: ${err.slice(-2000)}${out.slice(-2000)}`))));
  });
  const seconds = (performance.now() - started) / 1000;
  const exitedAt = Date.now();
  const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as OurRun['outcome'];
  if (outcome.status !== 'completed') throw new Error(`segment run ended ${outcome.status}, not completed`);
  const breakdown = await runBreakdown(client, outcome.workflowId, spawnedAt, exitedAt);
  const [records] = await db.query<mysql.RowDataPacket[]>(`SELECT steps FROM ${mysql.escapeId(database)}.${TABLES.runs} WHERE run_id = ?`, [outcome.runId ?? outcome.workflowId]);
  const recorded = (typeof records[0]?.steps === 'string' ? JSON.parse(records[0].steps) : records[0]?.steps) as Record<string, { seconds?: number }> | undefined;
  const steps = Object.fromEntries(Object.entries(recorded ?? {}).map(([step, { seconds: stepSeconds }]) => [step, stepSeconds ?? 0]));
  return { seconds, outcome, breakdown, steps };
}

async function segmentRows(db: mysql.Connection, database: string): Promise<Map<number, SegmentRow>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT CustomerID, PurchaseCount, FrequencyCategory FROM ${mysql.escapeId(database)}.${TABLES.segments}`,
  );
  return new Map(rows.map((row) => [Number(row.CustomerID), { CustomerID: Number(row.CustomerID), PurchaseCount: Number(row.PurchaseCount), FrequencyCategory: String(row.FrequencyCategory) }]));
}

/** The differences between the two tables, customer by customer (at most a few named). */
function tableDifferences(ours: Map<number, SegmentRow>, older: Map<number, SegmentRow>): string[] {
  const differences: string[] = [];
  if (ours.size !== older.size) differences.push(`ours has ${ours.size} customers, the older design ${older.size}`);
  for (const [id, row] of ours) {
    const other = older.get(id);
    if (!other) differences.push(`customer ${id} is only in ours`);
    else if (other.PurchaseCount !== row.PurchaseCount || other.FrequencyCategory !== row.FrequencyCategory) {
      differences.push(`customer ${id}: ours ${row.PurchaseCount} ${row.FrequencyCategory}, older ${other.PurchaseCount} ${other.FrequencyCategory}`);
    }
  }
  for (const id of older.keys()) if (!ours.has(id)) differences.push(`customer ${id} is only in the older design's`);
  return differences;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(options.workbook)) throw new Error(`${options.workbook} not found: pass --workbook PATH`);
  if (!existsSync(join(PROJECT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const python = pythonForOlderDesign();

  const base = loadConfig();
  const suffix = randomBytes(3).toString('hex');
  const ourDatabase = `${base.mysql.database}_bench_ours_${suffix}`;
  const olderDatabase = `${base.mysql.database}_bench_older_${suffix}`;
  const config: AppConfig = {
    ...base,
    taskQueue: `bench-older-design-${suffix}`,
    kafkaTopic: `purchase-frequency-bench-${suffix}`,
    mysql: { ...base.mysql, database: ourDatabase },
    mysqlMigration: { ...base.mysqlMigration, database: ourDatabase },
    dataDir: dirname(options.workbook),
  };
  const inDatabase = (url: string, database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    KAFKA_TOPIC: config.kafkaTopic,
    MYSQL_URL: inDatabase(setting('MYSQL_URL'), ourDatabase),
    MYSQL_MIGRATION_URL: inDatabase(setting('MYSQL_MIGRATION_URL'), ourDatabase),
    DATA_DIR: config.dataDir,
    METRICS_ADDRESS: 'off',
  };
  // The older design makes its own table, as the seed's insert script did: the migration user may.
  const olderMysqlUrl = inDatabase(setting('MYSQL_MIGRATION_URL'), olderDatabase);

  const admin = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
  for (const database of [ourDatabase, olderDatabase]) {
    await admin.query(`CREATE DATABASE ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  }
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());
  const kafka = await connectKafkaAdmin(config.kafkaBrokers, 'bench-older-design', config.kafkaSecurity);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const olderTopics: string[] = [];
  const checkpoints: string[] = [];
  let worker: ChildProcess | undefined;

  /** One run of the older design on a fresh topic, table and checkpoint, so every round does all the work. */
  const runOlder = async (label: string) => {
    const topic = `older-design-bench-${suffix}-${label}`;
    await ensureTopic(kafka, topic, 1);
    olderTopics.push(topic);
    const checkpoint = mkdtempSync(join(tmpdir(), 'older-design-checkpoint-'));
    checkpoints.push(checkpoint);
    await admin.query(`DROP TABLE IF EXISTS ${mysql.escapeId(olderDatabase)}.${TABLES.segments}`);
    return await runOlderDesign(python, { workbook: options.workbook, brokers: config.kafkaBrokers, topic, mysqlUrl: olderMysqlUrl, checkpoint });
  };
  const checkEqual = async (round: string) => {
    const differences = tableDifferences(await segmentRows(admin, ourDatabase), await segmentRows(admin, olderDatabase));
    if (differences.length > 0) throw new Error(`round ${round}: the two tables differ: ${differences.slice(0, 5).join('; ')}`);
  };

  const rounds: Round[] = [];
  try {
    worker = await startWorker(env);
    console.log(`workbook: ${options.workbook}; load average now ${(await import('node:os')).loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    process.stdout.write('warm-up (not measured): ours ');
    const warmOurs = await runOurs(client, admin, ourDatabase, env, options.workbook);
    process.stdout.write(`${warmOurs.seconds.toFixed(2)} s, older design `);
    const warmOlder = await runOlder('warm-up');
    console.log(`${warmOlder.processSeconds.toFixed(2)} s`);
    await checkEqual('warm-up');

    for (let round = 1; round <= options.rounds; round++) {
      const ours = await runOurs(client, admin, ourDatabase, env, options.workbook);
      const older = await runOlder(String(round));
      await checkEqual(String(round));
      rounds.push({ ours, older });
      console.log(
        `round ${round}/${options.rounds}: ours ${ours.seconds.toFixed(2)} s, older ${older.processSeconds.toFixed(2)} s, ` +
          `${(older.processSeconds / ours.seconds).toFixed(1)}x; tables equal (${ours.outcome.customers} customers, ${ours.outcome.low} low, ${ours.outcome.high} high)`,
      );
    }
  } finally {
    worker?.kill('SIGTERM');
    if (worker && worker.exitCode === null) await new Promise((done) => worker?.once('exit', done));
    await connection.close();
    await kafka.deleteTopics({ topics: [config.kafkaTopic, ...olderTopics] }).catch(() => undefined);
    await kafka.disconnect();
    for (const database of [ourDatabase, olderDatabase]) await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
    await admin.end();
    for (const checkpoint of checkpoints) rmSync(checkpoint, { recursive: true, force: true });
  }
  printResults(rounds);
}

function printResults(rounds: Round[]): void {
  console.log(`\neach ratio = that round's older-design wall / our wall (both whole processes); median of ${rounds.length} rounds`);
  console.table(
    rounds.map(({ ours, older }, at) => ({
      round: at + 1,
      'ours s': +ours.seconds.toFixed(2),
      'older design s': +older.processSeconds.toFixed(2),
      'x faster': +(older.processSeconds / ours.seconds).toFixed(1),
    })),
  );
  const ratios = rounds.map(({ ours, older }) => older.processSeconds / ours.seconds);
  console.log(
    `median: ours ${median(rounds.map((r) => r.ours.seconds)).toFixed(2)} s, older design ${median(rounds.map((r) => r.older.processSeconds)).toFixed(2)} s, ` +
      `ratio ${median(ratios).toFixed(1)}x (median of the rounds' ratios)`,
  );

  console.log('\nthe older design, median seconds per phase (inside its process; the rest is the interpreter start-up):');
  const phases = Object.keys(rounds[0].older.phases);
  console.table(Object.fromEntries(phases.map((phase) => [phase, +median(rounds.map((r) => r.older.phases[phase])).toFixed(2)])));

  console.log('\nours, median seconds: where `segment run --wait --json` spends its time (history timestamps):');
  const part = (pick: (b: RunBreakdown) => number) => seconds2(median(rounds.map((r) => pick(r.ours.breakdown))));
  console.table({
    'whole process': +median(rounds.map((r) => r.ours.seconds)).toFixed(2),
    'CLI start (spawn → workflow started)': part((b) => b.cliStartMs),
    'workflow (started → completed)': part((b) => b.workflowMs),
    'CLI end (completed → process exit)': part((b) => b.cliEndMs),
    [`workflow tasks (${rounds[0].ours.breakdown.workflowTasks.count}, scheduled → completed, summed)`]: part((b) => b.workflowTasks.ms),
  });
  const activityNames = Object.keys(rounds[0].ours.breakdown.activities);
  console.table(
    activityNames.map((name) => ({
      activity: name,
      count: rounds[0].ours.breakdown.activities[name].count,
      'queue wait s (summed)': part((b) => b.activities[name]?.queueMs ?? 0),
      'run s (summed)': part((b) => b.activities[name]?.runMs ?? 0),
    })),
  );
  console.log("each step's recorded seconds (segmentation_runs.steps), median; 'between steps' = the workflow's wall less its steps' (bookkeeping activities, round trips):");
  const steps = Object.keys(rounds[0].ours.steps);
  const stepTotal = (r: Round) => Object.values(r.ours.steps).reduce((sum, stepSeconds) => sum + stepSeconds, 0);
  console.table({
    ...Object.fromEntries(steps.map((step) => [step, +median(rounds.map((r) => r.ours.steps[step] ?? 0)).toFixed(3)])),
    'between steps': +median(rounds.map((r) => r.ours.breakdown.workflowMs / 1000 - stepTotal(r))).toFixed(3),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
