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
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { ensureTopic } from '../lib/kafka';
import { TABLES } from '../lib/tables';
import { pythonForOlderDesign, runOlderDesign, type OlderDesignResult } from './older-design/older-side';
import type { RunBreakdown } from './older-design/run-breakdown';
import { loadAverage, median, openBenchServers, runSegment, segmentRows, startWorker, stopWorker, tableDifferences, type OurRun } from './support/warm-worker';

const PROJECT = resolve(__dirname, '..');
const UCI_WORKBOOK = resolve(PROJECT, '../shared/data/online-retail.xlsx');

interface Round {
  ours: OurRun;
  older: OlderDesignResult;
}

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return { workbook: resolve(value('--workbook') ?? UCI_WORKBOOK), rounds: Number(value('--rounds') ?? 3) };
}

const seconds2 = (ms: number) => +(ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(options.workbook)) throw new Error(`${options.workbook} not found: pass --workbook PATH`);
  if (!existsSync(join(PROJECT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const python = pythonForOlderDesign();

  // The older design makes its own table, as the seed's insert script did: the migration user may.
  const servers = await openBenchServers('older-design', dirname(options.workbook), ['older']);
  const { admin, client, kafka, config, env, database: ourDatabase, suffix } = servers;
  const olderDatabase = servers.extraDatabases.older;
  const olderMysqlUrl = servers.mysqlUrlOf(olderDatabase);
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
    const differences = tableDifferences(await segmentRows(admin, ourDatabase), await segmentRows(admin, olderDatabase), 'the older design');
    if (differences.length > 0) throw new Error(`round ${round}: the two tables differ: ${differences.slice(0, 5).join('; ')}`);
  };
  const runOurs = () => runSegment(client, admin, { database: ourDatabase, env, workbook: options.workbook });

  const rounds: Round[] = [];
  try {
    worker = await startWorker(env);
    console.log(`workbook: ${options.workbook}; load average now ${loadAverage()}`);
    process.stdout.write('warm-up (not measured): ours ');
    const warmOurs = await runOurs();
    process.stdout.write(`${warmOurs.seconds.toFixed(2)} s, older design `);
    const warmOlder = await runOlder('warm-up');
    console.log(`${warmOlder.processSeconds.toFixed(2)} s`);
    await checkEqual('warm-up');

    for (let round = 1; round <= options.rounds; round++) {
      const ours = await runOurs();
      const older = await runOlder(String(round));
      await checkEqual(String(round));
      rounds.push({ ours, older });
      console.log(
        `round ${round}/${options.rounds}: ours ${ours.seconds.toFixed(2)} s, older ${older.processSeconds.toFixed(2)} s, ` +
          `${(older.processSeconds / ours.seconds).toFixed(1)}x; tables equal (${ours.outcome.customers} customers, ${ours.outcome.low} low, ${ours.outcome.high} high)`,
      );
    }
  } finally {
    await stopWorker(worker);
    await servers.close(olderTopics);
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
